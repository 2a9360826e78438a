import StrictJSON

/// How to find the caller's id in a request: a path of steps through
/// `{"headers": …, "query": …, "params": …}`.
public enum CallerLocator {
    public enum Step: Sendable, Equatable {
        case object(String)
        case json(String)
        case array(Int)
    }

    /// The caller's id, or nil when a step finds nothing.
    public static func locate(_ steps: [Step], in root: JSONValue) -> String? {
        var current = root
        for step in steps {
            switch step {
            case .object(let key):
                guard let next = current[key] else { return nil }
                current = next
            case .json(let key):
                guard let text = current.stringValue, let parsed = try? JSONParser.parse(text), let next = parsed[key] else { return nil }
                current = next
            case .array(let index):
                guard let list = current.arrayValue, index >= 0, index < list.count else { return nil }
                current = list[index]
            }
        }
        switch current {
        case .string(let s) where !s.isEmpty: return s
        case .number: return current.intValue.map(String.init)
        default: return nil
        }
    }
}
