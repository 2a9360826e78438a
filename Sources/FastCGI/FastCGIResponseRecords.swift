/// The records that carry a response back to the web server: the CGI response in STDOUT
/// records, an empty STDOUT record, and END_REQUEST (application status 0, request complete).
enum FastCGIResponseRecords {
    static let stdout: UInt8 = 6
    static let endRequest: UInt8 = 3
    static let maxContent = 65_528  // a multiple of 8 below 65535

    static func frame(_ payload: [UInt8], requestId: UInt16) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(payload.count + 8 * (payload.count / maxContent + 3) + 8)
        func header(_ type: UInt8, _ length: Int) {
            out.append(contentsOf: [1, type, UInt8(requestId >> 8), UInt8(requestId & 0xFF), UInt8(length >> 8), UInt8(length & 0xFF), 0, 0])
        }
        var offset = 0
        while offset < payload.count {
            let n = min(maxContent, payload.count - offset)
            header(stdout, n)
            out.append(contentsOf: payload[offset..<(offset + n)])
            offset += n
        }
        header(stdout, 0)
        header(endRequest, 8)
        out.append(contentsOf: [0, 0, 0, 0, 0, 0, 0, 0])
        return out
    }
}
