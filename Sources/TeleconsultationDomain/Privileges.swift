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
