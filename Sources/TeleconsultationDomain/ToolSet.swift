import StrictJSON

/// The tools a role may use in a room (`nil` where it is used means "every tool", by omission).
public struct ToolSet: Sendable, Equatable {
    public static let knownKeys = ["chat", "screen_sharing", "file_upload", "whiteboard", "snapshot",
                                   "live_edit", "live_pointer", "present_to_everyone"]
    /// Tool name → enabled, in the configuration's order.
    public var tools: [(name: String, enabled: Bool)]

    public init(_ tools: [(name: String, enabled: Bool)]) { self.tools = tools }

    public var json: JSONValue {
        .object(JSONObject(tools.map { ($0.name, JSONValue.bool($0.enabled)) }))
    }

    public static func == (lhs: ToolSet, rhs: ToolSet) -> Bool {
        lhs.tools.count == rhs.tools.count && zip(lhs.tools, rhs.tools).allSatisfy { $0.name == $1.name && $0.enabled == $1.enabled }
    }
}
