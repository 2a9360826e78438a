import Responder

/// The secret the web server proves itself with, so that the FastCGI socket serves nginx and
/// nothing else that can reach it.
///
/// The app takes the caller's identity from the request (`miauserid`); the socket is open to
/// the group www-data, which on Debian is also every php-fpm pool and CGI. nginx sends the
/// secret as a FastCGI param (`fastcgi_param TELECONSULTATION_PEER_SECRET "…"`, from a
/// root-only file its master reads); a request without it, or with another value, is refused
/// before it is routed. The name does not start with `HTTP_`, so no client header can set it.
public struct PeerSecret: Sendable {
    /// The FastCGI param that carries the secret.
    public static let param = "TELECONSULTATION_PEER_SECRET"

    /// What a request brought.
    public enum Verdict: String, Sendable {
        case admitted
        /// No secret at all: a peer that is not the configured web server, or a web server
        /// configuration that does not include the secret.
        case missing
        /// Another secret: a guess, or a web server still sending one that was rotated.
        case wrong
    }

    /// Why a request was refused (answered by `ErrorMapper`).
    public struct Refused: Error, Sendable {
        public let verdict: Verdict
    }

    private let expected: [UInt8]

    public init(_ secret: String) {
        expected = Array(secret.utf8)
    }

    public func check(_ request: Request) -> Verdict {
        guard let presented = request.serverVariables[Self.param] else { return .missing }
        return Self.constantTimeEquals(Array(presented.utf8), expected) ? .admitted : .wrong
    }

    /// Whether `a` equals `b`, taking as long whatever the first difference: the time
    /// depends on `b`'s length only, so a peer cannot find the secret byte by byte by timing.
    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = a.count ^ b.count
        for i in 0..<b.count {
            difference |= Int((i < a.count ? a[i] : 0) ^ b[i])
        }
        return difference == 0
    }

    /// The secret as read from its file: one line, its line end dropped. Nil when it is not
    /// 32 to 1024 characters of `A-Z a-z 0-9 + / = . _ ~ -` (what fits a quoted nginx string
    /// as it is; the package writes 64 hex digits). The secret itself is never in an error.
    public static func parse(fileContents bytes: [UInt8]) -> String? {
        var line = bytes[...]
        if line.last == UInt8(ascii: "\n") { line = line.dropLast() }
        if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
        guard (32...1024).contains(line.count), line.allSatisfy(isSecretByte) else { return nil }
        return String(decoding: line, as: UTF8.self)
    }

    static func isSecretByte(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"),
             UInt8(ascii: "-"):
            return true
        default: return false
        }
    }
}
