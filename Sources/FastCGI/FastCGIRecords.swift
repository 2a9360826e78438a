/// The FastCGI record framing (version 1): an 8-byte header, content, padding.
enum FastCGIRecords {
    static let stdin: UInt8 = 5

    /// Whether `bytes` hold well-formed records through an empty STDIN record (the end of
    /// a request as a web server sends it). Pure, so it is unit-tested directly.
    static func endsRequest<C: Collection>(_ bytes: C) -> Bool where C.Element == UInt8, C.Index == Int {
        var offset = bytes.startIndex
        while offset + 8 <= bytes.endIndex {
            guard bytes[offset] == 1 else { return false }
            let type = bytes[offset + 1]
            let length = Int(bytes[offset + 4]) << 8 | Int(bytes[offset + 5])
            let padding = Int(bytes[offset + 6])
            if type == stdin && length == 0 { return true }
            offset += 8 + length + padding
        }
        return false
    }
}
