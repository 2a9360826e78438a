import Foundation
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
        var line = JSONObject()
        line["level"] = .number(Double(Self.numericLevel(event.level)))
        line["time"] = .number((Date().timeIntervalSince1970 * 1000).rounded(.down))
        line["pid"] = .number(Double(getpid()))
        for (k, v) in metadata { line[k] = Self.json(v) }
        if let extra = event.metadata { for (k, v) in extra { line[k] = Self.json(v) } }
        line["msg"] = .string(event.message.description)
        var bytes = JSONValue.object(line).jsonBytes
        bytes.append(0x0A)
        sink(bytes)
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
