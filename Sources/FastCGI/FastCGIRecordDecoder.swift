import NIOCore

/// One FastCGI record: its type (raw, unknown types included), request id and content.
struct FastCGIRecord: Equatable {
    var type: UInt8
    var requestId: UInt16
    var content: ByteBuffer
}

/// Bytes → records: an 8-byte header, the content, the padding. A record of another
/// protocol version is a broken peer: the connection is closed.
enum FastCGIRecordDecoder {
    struct UnsupportedVersion: Error, Equatable { let version: UInt8 }

    /// The next whole record in `buffer`, consumed; nil when it is not all there yet.
    static func record(from buffer: inout ByteBuffer) throws -> FastCGIRecord? {
        guard buffer.readableBytes >= FastCGIProtocol.headerLength,
              let version = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        guard version == FastCGIProtocol.version else { throw UnsupportedVersion(version: version) }
        let i = buffer.readerIndex
        guard let type = buffer.getInteger(at: i + 1, as: UInt8.self), let requestId = buffer.getInteger(at: i + 2, as: UInt16.self),
              let length = buffer.getInteger(at: i + 4, as: UInt16.self), let padding = buffer.getInteger(at: i + 6, as: UInt8.self)
        else { return nil }
        let total = FastCGIProtocol.headerLength + Int(length) + Int(padding)
        guard buffer.readableBytes >= total else { return nil }
        buffer.moveReaderIndex(forwardBy: FastCGIProtocol.headerLength)
        let content = buffer.readSlice(length: Int(length)) ?? ByteBuffer()
        buffer.moveReaderIndex(forwardBy: Int(padding))
        return FastCGIRecord(type: type, requestId: requestId, content: content)
    }
}

/// FastCGI name-value pairs (PARAMS, GET_VALUES): each length one byte below 128, else four
/// with the top bit set.
enum FastCGINameValuePairs {
    struct Malformed: Error {}

    /// Calls `body` with each pair's name and value bytes (views into the buffer's memory,
    /// valid during the call only: no copy, no reference counting per pair).
    static func forEach(in buffer: ByteBuffer, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) throws {
        try buffer.withUnsafeReadableBytes { bytes in
            var i = 0
            func length() throws -> Int {
                guard i < bytes.count else { throw Malformed() }
                let first = bytes[i]
                if first < 0x80 {
                    i += 1
                    return Int(first)
                }
                guard i + 4 <= bytes.count else { throw Malformed() }
                let n = (Int(first & 0x7F) << 24) | (Int(bytes[i + 1]) << 16) | (Int(bytes[i + 2]) << 8) | Int(bytes[i + 3])
                i += 4
                return n
            }
            while i < bytes.count {
                let nameLength = try length(), valueLength = try length()
                guard nameLength <= bytes.count - i, valueLength <= bytes.count - i - nameLength else { throw Malformed() }
                let name = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + nameLength)])
                i += nameLength
                let value = UnsafeRawBufferPointer(rebasing: bytes[i..<(i + valueLength)])
                i += valueLength
                body(name, value)
            }
        }
    }

    static func append(name: String, value: String, to b: inout ByteBuffer) {
        for count in [name.utf8.count, value.utf8.count] {
            if count < 0x80 { b.writeInteger(UInt8(count)) } else { b.writeInteger(UInt32(count) | 0x8000_0000) }
        }
        b.writeString(name)
        b.writeString(value)
    }
}
