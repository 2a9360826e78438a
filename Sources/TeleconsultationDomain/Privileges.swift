import StrictJSON

/// A participant's role on the video provider.
public enum Role: String, Sendable, Equatable, Comparable {
    case basic, plus

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs == .basic && rhs == .plus }
}

/// The tools a role may use in a room (`nil` means "every tool", by omission).
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

/// The groups that grant each role, and the tools each role gets.
public struct Privileges: Sendable, Equatable {
    public struct Grant: Sendable, Equatable {
        public var groups: [String]
        public var tools: ToolSet?
        public init(groups: [String], tools: ToolSet? = nil) {
            self.groups = groups
            self.tools = tools
        }
    }

    public var basic: Grant
    public var plus: Grant

    public init(basic: Grant, plus: Grant) {
        self.basic = basic
        self.plus = plus
    }

    public static let `default` = Privileges(basic: Grant(groups: ["patient", "customer"]), plus: Grant(groups: ["doctor"]))

    /// `plus` if any group grants plus, else `basic` if any grants basic, else nil. Plus wins.
    public func role(forGroups groups: [String]) -> Role? {
        if groups.contains(where: plus.groups.contains) { return .plus }
        if groups.contains(where: basic.groups.contains) { return .basic }
        return nil
    }

    public func tools(for role: Role) -> ToolSet? {
        role == .plus ? plus.tools : basic.tools
    }
}
