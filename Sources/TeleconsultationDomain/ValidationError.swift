/// A request body or parameter that breaks a rule; `message` names the field
/// (`body/participants/number must be >= 2`).
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

extension ValidationError {
    /// The most of a caller's value a message repeats.
    public static let excerptLength = 64

    /// A caller's value as a message may quote it: at most `excerptLength` characters, control
    /// characters escaped, and how long it was when it is cut (a message never echoes a
    /// caller's kilobytes back, nor breaks a log line).
    public static func excerpt(_ value: String) -> String {
        var out = ""
        var shown = 0
        for scalar in value.unicodeScalars {
            if shown == excerptLength {
                out += "…(\(value.utf8.count) bytes)"
                return out
            }
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            } else {
                out.unicodeScalars.append(scalar)
            }
            shown += 1
        }
        return out
    }

    /// True when `value` holds a control character (U+0000–U+001F, U+007F), which no id, name
    /// or other one-line field may hold.
    public static func hasControlCharacter(_ value: String) -> Bool {
        value.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }
}
