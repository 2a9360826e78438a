import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import StrictJSON

/// Dispatches to the three stand-ins and the control API, logging every upstream request
/// and applying injected faults.
struct EmulatorResponder: Sendable {
    let state: EmulatorState

    func respond(_ request: Request) async throws -> Response {
        var req = request
        let buffer = try await req.collectBody(upTo: 16 << 20)
        let bytes = Array(buffer.readableBytesView)
        let fullPath = request.uri.path
        let segments = fullPath.split(separator: "/")
        let query = Self.query(request.uri.query ?? "")
        let method = request.method.rawValue
        guard let service = segments.first else { return Self.reply(.error(404, "no such route")) }

        if service == "_control" {
            return Self.reply(await control(method: method, path: Array(segments.dropFirst()), bytes: bytes))
        }
        guard ["crud", "bandyer", "auth0"].contains(service) else { return Self.reply(.error(404, "no such route")) }

        var headers = JSONObject()
        for f in request.headers { headers[f.name.canonicalName] = .string(f.value) }
        let rest = Array(segments.dropFirst())
        let subPath = "/" + rest.joined(separator: "/") + (fullPath.hasSuffix("/") && !rest.isEmpty ? "/" : "")
        var body: JSONValue?
        var bodyProblem: String?
        if !bytes.isEmpty {
            do { body = try JSONParser.parse(bytes) } catch { bodyProblem = "body is not valid JSON: \(error)" }
        }
        await state.log([
            "service": .string(String(service)), "method": .string(method), "path": .string(subPath),
            "query": .object(JSONObject(query.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })),
            "headers": .object(headers),
            "body": body ?? (bytes.isEmpty ? .null : .string(String(decoding: bytes, as: UTF8.self))),
        ])
        if let fault = await state.takeFault(service: String(service), method: method, path: subPath) {
            if fault.delayMs > 0 { try await Task.sleep(for: .milliseconds(fault.delayMs)) }
            if let status = fault.status {
                var fields = HTTPFields()
                fields[.contentType] = fault.body?.hasPrefix("{") == true ? "application/json" : "text/html"
                return Response(status: .init(code: status), headers: fields,
                                body: .init(byteBuffer: ByteBuffer(string: fault.body ?? "<html>upstream trouble</html>")))
            }
        }
        if let bodyProblem { return Self.reply(.error(400, bodyProblem)) }
        let hostHeader = request.head.authority ?? "127.0.0.1"
        let reply: Reply
        switch service {
        case "crud":
            // The CRUD service wants collection paths with the trailing slash.
            if rest.count == 1 && !fullPath.hasSuffix("/") { return Self.reply(.error(404, "collection routes end with '/'")) }
            reply = await state.crud(method: method, path: rest, query: query, body: body,
                                     userId: request.headers[HTTPField.Name("miauserid")!])
        case "bandyer":
            reply = await state.bandyer(method: method, path: rest, body: body, apiKey: request.headers[HTTPField.Name("apikey")!],
                                        baseURL: "http://\(hostHeader)/bandyer")
        default:
            reply = await state.auth0(method: method, path: rest, query: query, clientType: request.headers[HTTPField.Name("client-type")!])
        }
        return Self.reply(reply)
    }

    func control(method: String, path: [Substring], bytes: [UInt8]) async -> Reply {
        let body = bytes.isEmpty ? nil : try? JSONParser.parse(bytes)
        switch (method, path.map(String.init)) {
        case ("POST", ["reset"]):
            await state.reset()
            return Reply(status: 204)
        case ("GET", ["state"]):
            return .json(200, await state.snapshot)
        case ("GET", ["requests"]):
            return .json(200, .array(await state.requestLog))
        case ("DELETE", ["requests"]):
            await state.clearLog()
            return Reply(status: 204)
        case ("POST", ["faults"]):
            guard let o = body?.objectValue, let service = o["service"]?.stringValue else { return .error(400, "fault needs service") }
            await state.addFault(Fault(service: service, method: o["method"]?.stringValue, path: o["path"]?.stringValue,
                                       status: o["status"]?.intValue, body: o["body"]?.stringValue,
                                       delayMs: o["delayMs"]?.intValue ?? 0, times: o["times"]?.intValue))
            return Reply(status: 204)
        case ("DELETE", ["faults"]):
            await state.clearFaults()
            return Reply(status: 204)
        case ("PUT", ["auth0", "users"]):
            guard let list = body?.arrayValue else { return .error(400, "body must be an array of users") }
            await state.setAuth0Users(list)
            return Reply(status: 204)
        default:
            return .error(404, "no such control route")
        }
    }

    static func reply(_ r: Reply) -> Response {
        var fields = HTTPFields()
        if r.body != nil { fields[.contentType] = "application/json" }
        let bytes = r.body?.jsonBytes ?? []
        return Response(status: .init(code: r.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func query(_ raw: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in raw.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = String(kv[0]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[0])
            let v = kv.count > 1 ? (String(kv[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(kv[1])) : ""
            out[k] = v
        }
        return out
    }
}

extension Reply {
    init(status: Int) { self.init(status: status, body: nil, raw: nil) }
}

extension EmulatorState {
    func clearLog() { requestLog = [] }
}
