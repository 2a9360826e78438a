import HTTPTypes
import StrictJSON
import TeleconsultationDomain

/// Finds the caller's id with `userIdPathInRequest` in `{"headers", "query", "params"}`:
/// headers by lower-case name, the query string's parameters and the route's parameters,
/// each the first of repeated names.
///
/// Only the one value the first two steps name is looked up (that document is never built:
/// it would cost a dozen allocations on every request); the rest of the path walks that value.
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
        Self.locate(steps, headers: c.request.head.headerFields, query: { c.request.queryItem($0) },
                    parameters: c.parameters)
    }

    static func locate(_ steps: [CallerLocator.Step], headers: HTTPFields, query: (String) -> String?,
                       parameters: [String: String]) -> String? {
        // The document's members are objects of strings: a path must name a member of one, by
        // two object steps; anything else finds an object or nothing, never an id.
        guard steps.count >= 2, case .object(let section) = steps[0], case .object(let name) = steps[1] else { return nil }
        let value: String?
        switch section {
        case "headers": value = headers.first { $0.name.canonicalName == name }?.value
        case "query": value = query(name)
        case "params": value = parameters[name]
        default: value = nil
        }
        guard let value else { return nil }
        return CallerLocator.locate(Array(steps.dropFirst(2)), in: .string(value))
    }
}
