/// What an id must look like before it goes into an upstream URL or a stored document.
public enum Identifiers {
    /// A CRUD `_id`: exactly 24 lowercase hex characters.
    public static func isCRUDId(_ s: String) -> Bool {
        s.utf8.count == 24 && s.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// A Bandyer user or room id: `[A-Za-z0-9._-]{1,128}`, and not dots alone (`.` and `..`
    /// would change the path they go into).
    public static func isProviderId(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 128 && !isDotsOnly(s) && s.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
        }
    }

    /// A value that goes into a URL path as one percent-encoded segment (an upload key): not
    /// empty, not dots alone (`.`, `..` are path steps even when encoded, for some servers),
    /// no control character.
    public static func isPathSegment(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 1024 && !isDotsOnly(s) && !s.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }

    static func isDotsOnly(_ s: String) -> Bool { s.utf8.allSatisfy { $0 == 0x2E } }
}
