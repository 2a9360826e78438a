import Hummingbird
import StrictJSON

/// In front of every stand-in route: logs the request as the upstream received it (a
/// header sent twice is logged as an array) and applies the injected faults.
struct StandInMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let state: EmulatorState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard let service = segments.first.map(String.init), ["crud", "bandyer", "auth0"].contains(service) else {
            return try await next(request, context)
        }
        var request = request
        _ = try await request.collectBody(upTo: 64 << 20)
        let incoming = try await Incoming.read(request)
        let subPath = "/" + segments.dropFirst().joined(separator: "/")
        var headers: [(String, JSONValue)] = []
        var index: [String: Int] = [:]
        for f in request.headers {
            let name = f.name.canonicalName
            if let i = index[name] {
                if case .array(let values) = headers[i].1 { headers[i].1 = .array(values + [.string(f.value)]) } else { headers[i].1 = [headers[i].1, .string(f.value)] }
            } else {
                index[name] = headers.count
                headers.append((name, .string(f.value)))
            }
        }
        let body: JSONValue = incoming.json
            ?? (incoming.bytes.isEmpty ? .null : .string(request.headers[.contentType]?.hasPrefix("multipart/") == true
                ? "<multipart, \(incoming.bytes.count) bytes>" : String(decoding: incoming.bytes, as: UTF8.self)))
        await state.log([
            "service": .string(service), "method": .string(incoming.method), "path": .string(subPath),
            "query": .object(JSONObject(incoming.query.sorted { $0.key < $1.key }.map { ($0.key, JSONValue.string($0.value)) })),
            "headers": .object(JSONObject(headers)), "body": body,
        ])
        if let fault = await state.takeFault(service: service, method: incoming.method, path: subPath) {
            // A delayed request counts as held until it is answered, its late work included.
            let held = fault.delayMs > 0 || fault.hold
            if held {
                await state.delayStarted()
                if fault.hold {
                    await state.hold(fault, limit: .seconds(60))
                } else {
                    try? await Task.sleep(for: .milliseconds(fault.delayMs))
                }
            }
            let response: Response
            do {
                if let status = fault.status {
                    let text = fault.body ?? "<html>upstream trouble</html>"
                    response = Reply(status: status, raw: (Array(text.utf8), text.hasPrefix("{") ? "application/json" : "text/html")).response
                } else if let problem = incoming.bodyProblem {
                    response = Reply.error(400, problem).response
                } else if !fault.strip.isEmpty {
                    response = try await Reply.$stripped.withValue(fault.strip) { try await next(request, context) }
                } else {
                    response = try await next(request, context)
                }
            } catch {
                if held { await state.delayEnded() }
                throw error
            }
            if held { await state.delayEnded() }
            return response
        }
        if let problem = incoming.bodyProblem { return Reply.error(400, problem).response }
        return try await next(request, context)
    }
}
