import HTTPTypes
import StrictJSON
import TeleconsultationDomain

/// Finds the caller's id with `userIdPathInRequest` in `{"headers", "query", "params"}`.
struct CallerIdentification: Sendable {
    let steps: [CallerLocator.Step]

    init(configuration: Configuration) {
        steps = configuration.userIdPathInRequest.map {
            switch $0.from {
            case .object: return .object($0.extract)
            case .json: return .json($0.extract)
            case .array: return .array(Int($0.extract) ?? -1)
            }
        }
    }

    func caller(of c: RequestContext) -> String? {
        CallerLocator.locate(steps, in: root(c))
    }

    /// `{"headers": {lower-case name: value}, "query": {...}, "params": {...}}`; the first of
    /// repeated names wins.
    func root(_ c: RequestContext) -> JSONValue {
        var headers: [(String, JSONValue)] = []
        var seen = Set<String>()
        for f in c.request.head.headerFields where seen.insert(f.name.canonicalName).inserted {
            headers.append((f.name.canonicalName, .string(f.value)))
        }
        var params: [(String, JSONValue)] = []
        for (k, v) in c.parameters.sorted(by: { $0.key < $1.key }) { params.append((k, .string(v))) }
        return ["headers": .object(JSONObject(uniqueKeysWithValues: headers)),
                "query": .object(JSONObject(uniqueKeysWithValues: c.request.queryItems.map { ($0.key, JSONValue.string($0.value)) })),
                "params": .object(JSONObject(uniqueKeysWithValues: params))]
    }
}
