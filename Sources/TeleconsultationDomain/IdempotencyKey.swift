import StrictJSON

/// An `Idempotency-Key` header's value: 1–255 printable ASCII characters.
public struct IdempotencyKey: Sendable, Equatable {
    public let value: String
    public static let maxLength = 255
    static let field = "headers/idempotency-key"

    /// nil when the request has no such header.
    public static func parse(_ header: String?) throws(ValidationError) -> IdempotencyKey? {
        guard let header else { return nil }
        guard !header.isEmpty, header.utf8.count <= maxLength, header.utf8.allSatisfy({ $0 >= 0x20 && $0 <= 0x7E }) else {
            throw ValidationError("\(field) must be 1 to \(maxLength) printable ASCII characters")
        }
        return IdempotencyKey(value: header)
    }

    /// The key as kept: a digest of the route, the room and the caller with it, so a key is
    /// scoped to them and no caller id is stored.
    public func scoped(route: String, roomId: String?, callerId: String?) -> String {
        var digest = SHA256Digest()
        for part in [route, roomId ?? "", callerId ?? "", value] {
            digest.update(part.utf8)
            digest.update(CollectionOfOne(0))
        }
        return digest.finalizeHex()
    }
}

/// What makes two requests "the same" for an Idempotency-Key: the method, the path and the
/// body's JSON value (key order and whitespace ignored; a body that is not JSON, its bytes).
public enum RequestFingerprint {
    public static func of(method: String, path: String, body: [UInt8]) -> String {
        var digest = SHA256Digest()
        digest.update(method.utf8)
        digest.update(CollectionOfOne(0x20))
        digest.update(path.utf8)
        digest.update(CollectionOfOne(0x0A))
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            // No body: nothing more.
        } else if let value = try? JSONParser.parse(body) {
            digest.update(canonical(value).jsonBytes)
        } else {
            digest.update(body)
        }
        return digest.finalizeHex()
    }

    /// The value with every object's members in key order.
    static func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let o):
            return .object(JSONObject(o.members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { ($0.key, canonical($0.value)) }))
        case .array(let items): return .array(items.map(canonical))
        default: return value
        }
    }
}
