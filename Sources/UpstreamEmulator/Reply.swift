import HTTPTypes
import Hummingbird
import NIOCore
import StrictJSON

/// An answer as the real upstream would give it (or the error it would give); a refusal
/// can travel as a thrown error.
struct Reply: Sendable, Error {
    var status: Int
    var body: JSONValue?
    /// A body that is not JSON (a page, a multipart echo).
    var raw: (bytes: [UInt8], contentType: String)?

    init(status: Int, body: JSONValue? = nil, raw: (bytes: [UInt8], contentType: String)? = nil) {
        self.status = status
        self.body = body
        self.raw = raw
    }

    static func json(_ status: Int, _ body: JSONValue) -> Reply { Reply(status: status, body: body) }
    static func error(_ status: Int, _ message: String) -> Reply {
        let phrase = [400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 409: "Conflict"][status] ?? "Error"
        return .json(status, ["statusCode": .number(Double(status)), "error": .string(phrase), "message": .string(message)])
    }
    static let notFound = Reply.json(404, ["error": "not found"])
    static let noContent = Reply(status: 204)

    /// Keys a fault strips from the answers of the request being handled.
    @TaskLocal static var stripped: [String] = []

    var response: Response {
        var fields = HTTPFields()
        let bytes: [UInt8]
        var body = self.body
        if !Self.stripped.isEmpty, var o = body?.objectValue {
            for k in Self.stripped { o[k] = nil }
            if var room = o["room"]?.objectValue {
                for k in Self.stripped { room[k] = nil }
                o["room"] = .object(room)
            }
            body = .object(o)
        }
        if let raw {
            fields[.contentType] = raw.contentType
            bytes = raw.bytes
        } else if let body {
            fields[.contentType] = "application/json"
            bytes = body.jsonBytes
        } else {
            bytes = []
        }
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// What a stand-in handler gets: the request's parts, already read.
struct Incoming: Sendable {
    var method: String
    var path: String
    var query: [String: String]
    var headers: HTTPFields
    /// The Host the request was sent to.
    var authority: String?
    var bytes: [UInt8]
    /// The body parsed as JSON, when it is JSON.
    var json: JSONValue?
    var bodyProblem: String?

    func header(_ name: String) -> String? { HTTPField.Name(name).flatMap { headers[$0] } }

    static func read(_ request: Request) async throws -> Incoming {
        var request = request
        let buffer = try await request.collectBody(upTo: 64 << 20)
        let bytes = Array(buffer.readableBytesView)
        var query: [String: String] = [:]
        for (k, v) in request.uri.queryParameters where query[String(k)] == nil { query[String(k)] = String(v) }
        var json: JSONValue?
        var problem: String?
        let isMultipart = request.headers[.contentType]?.hasPrefix("multipart/") == true
        if !bytes.isEmpty && !isMultipart {
            do { json = try JSONParser.parse(bytes) } catch { problem = "body is not valid JSON: \(error)" }
        }
        return Incoming(method: request.method.rawValue, path: request.uri.path, query: query, headers: request.headers,
                        authority: request.head.authority, bytes: bytes, json: json, bodyProblem: problem)
    }
}
