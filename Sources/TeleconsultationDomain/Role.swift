/// A participant's role on the video provider.
public enum Role: String, Sendable, Equatable, Comparable {
    case basic, plus

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs == .basic && rhs == .plus }
}
