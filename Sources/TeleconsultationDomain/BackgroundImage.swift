/// A virtual background to upload: a JPEG, checked by its bytes.
public struct BackgroundImage: Sendable, Equatable {
    public var bytes: [UInt8]
    public var filename: String

    public init(bytes: [UInt8], filename: String) {
        self.bytes = bytes
        self.filename = filename
    }

    /// A JPEG starts with the SOI marker and another marker: FF D8 FF.
    public static func isJPEG(_ bytes: some Collection<UInt8>) -> Bool {
        var i = bytes.makeIterator()
        return i.next() == 0xFF && i.next() == 0xD8 && i.next() == 0xFF
    }
}
