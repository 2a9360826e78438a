import HTTPTypes
import MultipartKit
import Responder
import TeleconsultationDomain

/// The body of POST /settings/background-image: `multipart/form-data` with one file part
/// `virtual_background` holding a JPEG. Parsed by multipart-kit; every refusal names the field.
enum BackgroundUpload {
    static let field = "virtual_background"
    static func refused(_ why: String) -> ValidationError {
        ValidationError("body/\(field) \(why)")
    }

    static func image(from request: Request) throws(ValidationError) -> BackgroundImage {
        guard let contentType = request.head.headerFields[.contentType],
              contentType.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() == "multipart/form-data",
              let boundary = boundary(of: contentType) else {
            throw refused("must be a file in a multipart/form-data body")
        }
        var parts: [(headers: [(String, String)], body: [UInt8])] = []
        var headers: [(String, String)] = []
        var body: [UInt8] = []
        let parser = MultipartParser(boundary: boundary)
        parser.onHeader = { name, value in headers.append((name.lowercased(), value)) }
        parser.onBody = { buffer in body.append(contentsOf: buffer.readableBytesView) }
        parser.onPartComplete = {
            parts.append((headers, body))
            headers = []
            body = []
        }
        do { try parser.execute(request.body) } catch { throw refused("must be a file in a well-formed multipart/form-data body") }
        guard let part = parts.first(where: { p in p.headers.contains { $0.0 == "content-disposition" && Self.name(in: $0.1) == field } }) else {
            throw refused("is required: a file part named \(field)")
        }
        guard BackgroundImage.isJPEG(part.body) else { throw refused("must be a JPEG image") }
        let disposition = part.headers.first { $0.0 == "content-disposition" }?.1 ?? ""
        return BackgroundImage(bytes: part.body, filename: parameter("filename", in: disposition) ?? "background.jpg")
    }

    /// `boundary=` of a Content-Type, unquoted.
    static func boundary(of contentType: String) -> String? {
        guard let b = parameter("boundary", in: contentType), !b.isEmpty, b.utf8.count <= 200 else { return nil }
        return b
    }

    static func name(in disposition: String) -> String? { parameter("name", in: disposition) }

    /// A `key=value` or `key="value"` parameter of a header value.
    static func parameter(_ key: String, in value: String) -> String? {
        for item in value.split(separator: ";").dropFirst() {
            let kv = item.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, kv[0].trimmingCharacters(in: .whitespaces).lowercased() == key else { continue }
            var v = kv[1].trimmingCharacters(in: .whitespaces)
            if v.hasPrefix("\""), v.hasSuffix("\""), v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            return v
        }
        return nil
    }
}
