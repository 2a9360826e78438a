import HTTPTypes
import Responder

/// Serialises a response as the CGI header block FastCGI expects.
public enum FastCGIResponseWriter {
    /// `Status: 200 OK` (nginx needs the reason phrase), the headers, a
    /// `Content-Length`, a blank line and the body: one buffer, one write.
    public static func serialize(_ response: Response) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + response.body.count)
        out.append(contentsOf: "Status: ".utf8)
        out.append(contentsOf: String(response.status.code).utf8)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: response.status.reasonPhrase.utf8)
        out.append(contentsOf: "\r\n".utf8)
        var hasLength = false
        for field in response.head.headerFields {
            if field.name == .contentLength { hasLength = true }
            out.append(contentsOf: field.name.canonicalName.utf8)
            out.append(contentsOf: ": ".utf8)
            for c in field.value.utf8 where c != 0x0D && c != 0x0A { out.append(c) }
            out.append(contentsOf: "\r\n".utf8)
        }
        if !hasLength && response.status.code != 204 && response.status.code != 304 {
            out.append(contentsOf: "Content-Length: ".utf8)
            out.append(contentsOf: String(response.body.count).utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        out.append(contentsOf: response.body)
        return out
    }
}
