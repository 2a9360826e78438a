import Glibc
import Logging
import StrictJSON

/// One JSON object per line on standard error: numeric `level` (10 trace … 60 fatal),
/// `time` in Unix milliseconds, `msg`, then the metadata (`reqId` among it).
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private let sink: @Sendable ([UInt8]) -> Void

    public init(label: String, level: Logger.Level, sink: @escaping @Sendable ([UInt8]) -> Void = JSONLogHandler.standardError) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    /// `write(2)` on fd 2: one call per line, so concurrent lines do not interleave.
    public static let standardError: @Sendable ([UInt8]) -> Void = { bytes in
        bytes.withUnsafeBytes { p in
            var offset = 0
            while offset < p.count {
                let n = Glibc.write(2, p.baseAddress! + offset, p.count - offset)
                if n <= 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public static func numericLevel(_ level: Logger.Level) -> Int {
        switch level {
        case .trace: return 10
        case .debug: return 20
        case .info, .notice: return 30
        case .warning: return 40
        case .error: return 50
        case .critical: return 60
        }
    }

    public func log(event: LogEvent) {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out.append(contentsOf: #"{"level":"#.utf8)
        out.append(contentsOf: String(Self.numericLevel(event.level)).utf8)
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        out.append(contentsOf: #","time":"#.utf8)
        out.append(contentsOf: String(Int(now.tv_sec) * 1000 + Int(now.tv_nsec) / 1_000_000).utf8)
        out.append(contentsOf: #","pid":"#.utf8)
        out.append(contentsOf: Self.pid.utf8)
        // The call's metadata wins over the logger's; the fixed keys over both (no key twice).
        let extra = event.metadata ?? [:]
        for (key, value) in metadata where extra[key] == nil && !Self.fixedKeys.contains(key) { Self.member(key, value, into: &out) }
        for (key, value) in extra where !Self.fixedKeys.contains(key) { Self.member(key, value, into: &out) }
        out.append(contentsOf: #","msg":"#.utf8)
        JSONValue.writeString(event.message.description, into: &out)
        out.append(contentsOf: "}\n".utf8)
        sink(out)
    }

    private static let pid = String(getpid())
    private static let fixedKeys: Set<String> = ["level", "time", "pid", "msg"]

    private static func member(_ key: String, _ value: Logger.Metadata.Value, into out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        JSONValue.writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
        if case .string(let s) = value { JSONValue.writeString(s, into: &out) } else { json(value).write(into: &out) }
    }

    static func json(_ value: Logger.Metadata.Value) -> JSONValue {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let c):
            if let i = c as? Int { return .number(Double(i)) }
            if let d = c as? Double { return .number(d) }
            if let b = c as? Bool { return .bool(b) }
            return .string(c.description)
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d): return .object(JSONObject(d.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) }))
        }
    }
}
