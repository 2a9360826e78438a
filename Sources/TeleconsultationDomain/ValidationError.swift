/// A request body or parameter that breaks a rule; `message` names the field
/// (`body/participants/number must be >= 2`).
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
