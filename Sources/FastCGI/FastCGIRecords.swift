import NIOCore

/// Writes FastCGI records: headers, a response as STDOUT records, END_REQUEST.
enum FastCGIRecords {
    /// Largest STDOUT content per record: a multiple of 8 below 65535.
    static let maxContent = 65_528

    static func header(_ type: FastCGIProtocol.RecordType, requestId: UInt16, length: Int, into out: inout ByteBuffer) {
        out.writeInteger(FastCGIProtocol.version)
        out.writeInteger(type.rawValue)
        out.writeInteger(requestId)
        out.writeInteger(UInt16(length))
        out.writeInteger(UInt8(0))  // padding
        out.writeInteger(UInt8(0))  // reserved
    }

    static func endRequest(_ requestId: UInt16, status: FastCGIProtocol.ProtocolStatus, into out: inout ByteBuffer) {
        header(.endRequest, requestId: requestId, length: 8, into: &out)
        out.writeInteger(UInt32(0))  // application status
        out.writeInteger(status.raw)
        out.writeBytes([0, 0, 0])
    }

    /// The CGI response in STDOUT records, an empty STDOUT record, END_REQUEST.
    static func response(_ cgi: [UInt8], requestId: UInt16, into out: inout ByteBuffer) {
        var offset = 0
        while offset < cgi.count {
            let n = min(maxContent, cgi.count - offset)
            header(.stdout, requestId: requestId, length: n, into: &out)
            out.writeBytes(cgi[offset..<(offset + n)])
            offset += n
        }
        header(.stdout, requestId: requestId, length: 0, into: &out)
        endRequest(requestId, status: .requestComplete, into: &out)
    }
}
