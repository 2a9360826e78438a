/// Why a text is not acceptable JSON, with the path where it went wrong.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case syntax(String)
        case duplicateKey(String)
        case tooDeep(Int)
        /// A key of the root object the caller does not accept (`Limits.rootKeys`).
        case unexpectedKey(String)
        /// An object with more members, or an array with more elements, than `Limits.maxMembers`.
        case tooManyMembers(limit: Int, inObject: Bool)
    }
    public let reason: Reason
    /// Path of the value being parsed, as `/a/0/b` (empty for the root).
    public let path: String
    public let offset: Int

    public var description: String {
        switch reason {
        case .syntax(let what): return "\(what) at offset \(offset)"
        case .duplicateKey(let key): return "duplicate key \"\(key)\""
        case .tooDeep(let limit): return "nesting deeper than \(limit) levels"
        case .unexpectedKey(let key): return "unexpected key \"\(key)\""
        case .tooManyMembers(let limit, let inObject): return "more than \(limit) \(inObject ? "members" : "elements")"
        }
    }
}

/// A strict RFC 8259 parser: no trailing commas, no comments, no duplicate keys,
/// no lone surrogates, and a depth limit so hostile nesting cannot exhaust the stack.
public struct JSONParser {
    public static let defaultMaxDepth = 64
    static let duplicateScanLimit = 16

    /// What a caller accepts beyond the syntax, checked while parsing: a hostile body is
    /// refused at the first key (once its value is read) or element too many, before the
    /// rest of it costs memory.
    public struct Limits: Sendable {
        public var maxDepth: Int
        /// Members of one object, elements of one array.
        public var maxMembers: Int
        /// The keys the root object may have; nil: any.
        public var rootKeys: Set<String>?

        public init(maxDepth: Int = JSONParser.defaultMaxDepth, maxMembers: Int = .max, rootKeys: Set<String>? = nil) {
            self.maxDepth = maxDepth
            self.maxMembers = maxMembers
            self.rootKeys = rootKeys
        }
    }

    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try parse(bytes, limits: Limits(maxDepth: maxDepth))
    }

    public static func parse(_ bytes: [UInt8], limits: Limits) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            var p = JSONParser(buffer: buffer, limits: limits)
            p.skipWhitespace()
            let value = try p.parseValue(depth: 0)
            p.skipWhitespace()
            if p.index != buffer.count { throw p.error(.syntax("unexpected data after the JSON value")) }
            return value
        }
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    private let buffer: UnsafeBufferPointer<UInt8>
    private let maxDepth: Int
    private let maxMembers: Int
    private let rootKeys: Set<String>?
    private var index = 0
    private var path: [String] = []
    /// The members (elements) of the objects (arrays) being parsed, innermost last: each
    /// object is gathered here and then copied once into an array of its exact size, instead
    /// of growing an array of its own (a few reallocations per object).
    private var memberStack: [(key: String, value: JSONValue)] = []
    private var elementStack: [JSONValue] = []

    private init(buffer: UnsafeBufferPointer<UInt8>, limits: Limits) {
        self.buffer = buffer
        maxDepth = limits.maxDepth
        maxMembers = limits.maxMembers
        rootKeys = limits.rootKeys
    }

    private func error(_ reason: JSONParseError.Reason) -> JSONParseError {
        JSONParseError(reason: reason, path: path.isEmpty ? "" : "/" + path.joined(separator: "/"), offset: index)
    }

    private mutating func skipWhitespace() {
        while index < buffer.count {
            switch buffer[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard index < buffer.count else { throw error(.syntax("unexpected end of input")) }
        switch buffer[index] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw error(.syntax("unexpected character"))
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= buffer.count else { throw error(.syntax("unexpected end of input")) }
        let base = literal.utf8Start
        for i in 0..<count where buffer[index + i] != base[i] { throw error(.syntax("invalid literal")) }
        index += count
    }

    private mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maxDepth { throw error(.tooDeep(maxDepth)) }
        index += 1
        // Room for a typical document's members and nesting, made once: grown only by larger ones.
        if memberStack.capacity == 0 { memberStack.reserveCapacity(32) }
        if path.capacity == 0 { path.reserveCapacity(8) }
        let base = memberStack.count
        // Duplicate keys: a scan while the object is small, a hash set once it is not.
        var seen: Set<String>?
        skipWhitespace()
        if index < buffer.count, buffer[index] == UInt8(ascii: "}") { index += 1; return .object(JSONObject()) }
        while true {
            skipWhitespace()
            guard index < buffer.count, buffer[index] == UInt8(ascii: "\"") else { throw error(.syntax("expected a string key")) }
            let key = try parseString()
            // A root key the caller does not accept is refused once its value is read, not at
            // once: a body nested too deep under it (`{"a":{"a":…}}`) is refused for its depth,
            // the limit that protects the parser, not for the name of its first key.
            let unexpected = depth == 1 && rootKeys?.contains(key) == false
            let count = memberStack.count - base
            if count == maxMembers { throw error(.tooManyMembers(limit: maxMembers, inObject: true)) }
            if seen == nil && count >= Self.duplicateScanLimit {
                seen = Set(memberStack[base...].map(\.key))
            }
            if let inserted = seen?.insert(key).inserted {
                if !inserted { throw error(.duplicateKey(key)) }
            } else if memberStack[base...].contains(where: { $0.key == key }) {
                throw error(.duplicateKey(key))
            }
            skipWhitespace()
            guard index < buffer.count, buffer[index] == UInt8(ascii: ":") else { throw error(.syntax("expected ':'")) }
            index += 1
            skipWhitespace()
            path.append(key)
            let value = try parseValue(depth: depth)
            path.removeLast()
            if unexpected { throw error(.unexpectedKey(key)) }
            memberStack.append((key, value))
            skipWhitespace()
            guard index < buffer.count else { throw error(.syntax("unexpected end of input")) }
            if buffer[index] == UInt8(ascii: ",") { index += 1; continue }
            if buffer[index] == UInt8(ascii: "}") { index += 1; break }
            throw error(.syntax("expected ',' or '}'"))
        }
        return .object(JSONObject(uniqueKeysWithValues: Self.take(from: &memberStack, at: base)))
    }

    private mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maxDepth { throw error(.tooDeep(maxDepth)) }
        index += 1
        if elementStack.capacity == 0 { elementStack.reserveCapacity(16) }
        if path.capacity == 0 { path.reserveCapacity(8) }
        let base = elementStack.count
        skipWhitespace()
        if index < buffer.count, buffer[index] == UInt8(ascii: "]") { index += 1; return .array([]) }
        while true {
            skipWhitespace()
            let count = elementStack.count - base
            if count == maxMembers { throw error(.tooManyMembers(limit: maxMembers, inObject: false)) }
            path.append(String(count))
            let element = try parseValue(depth: depth)
            elementStack.append(element)
            path.removeLast()
            skipWhitespace()
            guard index < buffer.count else { throw error(.syntax("unexpected end of input")) }
            if buffer[index] == UInt8(ascii: ",") { index += 1; continue }
            if buffer[index] == UInt8(ascii: "]") { index += 1; break }
            throw error(.syntax("expected ',' or ']'"))
        }
        return .array(Self.take(from: &elementStack, at: base))
    }

    /// The stack's elements from `base` on, moved into an array of their own (a copy, never
    /// the stack's storage shared, so the stack keeps its capacity for the next object).
    private static func take<Element>(from stack: inout [Element], at base: Int) -> [Element] {
        var taken: [Element] = []
        taken.reserveCapacity(stack.count - base)
        taken.append(contentsOf: stack[base...])
        stack.removeLast(stack.count - base)
        return taken
    }

    private mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = index
        if buffer[index] == UInt8(ascii: "-") { index += 1 }
        guard index < buffer.count, isDigit(buffer[index]) else { throw error(.syntax("invalid number")) }
        if buffer[index] == UInt8(ascii: "0") {
            index += 1
            if index < buffer.count, isDigit(buffer[index]) { throw error(.syntax("leading zero in number")) }
        } else {
            while index < buffer.count, isDigit(buffer[index]) { index += 1 }
        }
        if index < buffer.count, buffer[index] == UInt8(ascii: ".") {
            index += 1
            guard index < buffer.count, isDigit(buffer[index]) else { throw error(.syntax("invalid number")) }
            while index < buffer.count, isDigit(buffer[index]) { index += 1 }
        }
        if index < buffer.count, buffer[index] == UInt8(ascii: "e") || buffer[index] == UInt8(ascii: "E") {
            index += 1
            if index < buffer.count, buffer[index] == UInt8(ascii: "+") || buffer[index] == UInt8(ascii: "-") { index += 1 }
            guard index < buffer.count, isDigit(buffer[index]) else { throw error(.syntax("invalid number")) }
            while index < buffer.count, isDigit(buffer[index]) { index += 1 }
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<index]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else { throw error(.syntax("number out of range")) }
        return value
    }

    private func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        let start = index
        var ascii = true
        // Fast path: no escapes.
        while index < buffer.count {
            let c = buffer[index]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: buffer[start..<index])
                index += 1
                // ASCII needs no validation (and `String(validating:)` is generic, unspecialised: slow).
                if ascii { return String(decoding: slice, as: UTF8.self) }
                guard let s = String(validating: slice, as: UTF8.self) else { throw error(.syntax("invalid UTF-8 in string")) }
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw error(.syntax("control character in string")) }
            if c >= 0x80 { ascii = false }
            index += 1
        }
        var bytes = Array(UnsafeBufferPointer(rebasing: buffer[start..<index]))
        while index < buffer.count {
            let c = buffer[index]
            if c == UInt8(ascii: "\"") {
                index += 1
                guard let s = String(validating: bytes, as: UTF8.self) else { throw error(.syntax("invalid UTF-8 in string")) }
                return s
            }
            if c < 0x20 { throw error(.syntax("control character in string")) }
            if c != UInt8(ascii: "\\") { bytes.append(c); index += 1; continue }
            index += 1
            guard index < buffer.count else { break }
            let e = buffer[index]
            index += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C)
            case UInt8(ascii: "/"): bytes.append(0x2F)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4()
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 1 < buffer.count, buffer[index] == UInt8(ascii: "\\"), buffer[index + 1] == UInt8(ascii: "u") else {
                        throw error(.syntax("lone surrogate in string"))
                    }
                    index += 2
                    let low = try parseHex4()
                    guard (0xDC00...0xDFFF).contains(low) else { throw error(.syntax("lone surrogate in string")) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw error(.syntax("lone surrogate in string"))
                }
                guard let u = Unicode.Scalar(scalar) else { throw error(.syntax("invalid escape")) }
                bytes.append(contentsOf: Array(String(Character(u)).utf8))
            default: throw error(.syntax("invalid escape"))
            }
        }
        throw error(.syntax("unterminated string"))
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= buffer.count else { throw error(.syntax("invalid escape")) }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = buffer[index]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw error(.syntax("invalid escape"))
            }
            v = v << 4 | d
            index += 1
        }
        return v
    }
}
