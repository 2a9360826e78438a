import Foundation
import Logging
import StrictJSON
import TeleconsultationPorts
@testable import Upstreams

/// A transport that answers from a script and records what was sent.
final class RecordedTransport: HTTPTransport, @unchecked Sendable {
    struct Sent {
        var method: String
        var url: String
        var headers: [(String, String)]
        var json: JSONValue?
        var timeout: Duration

        func header(_ name: String) -> [String] { headers.filter { $0.0 == name }.map(\.1) }
        /// The decoded value of one query parameter.
        func query(_ name: String) -> String? {
            guard let q = url.split(separator: "?", maxSplits: 1).dropFirst().first else { return nil }
            for pair in q.split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1)
                if kv.first.map(String.init) == name { return kv.count > 1 ? String(kv[1]).removingPercentEncoding : "" }
            }
            return nil
        }
    }

    private let lock = NSLock()
    private var answers: [Result<UpstreamAnswer, TransportError>]
    private(set) var sent: [Sent] = []

    init(_ answers: [Result<UpstreamAnswer, TransportError>]) { self.answers = answers }

    convenience init(json: [(Int, JSONValue)]) {
        self.init(json.map { .success(UpstreamAnswer(status: $0.0, json: $0.1)) })
    }

    func send(_ request: UpstreamRequest, timeout: Duration) async throws(TransportError) -> UpstreamAnswer {
        let next: Result<UpstreamAnswer, TransportError> = lock.withLock {
            var json: JSONValue?
            if case .json(let v)? = request.body { json = v }
            sent.append(Sent(method: request.method, url: request.url, headers: request.headers, json: json, timeout: timeout))
            return answers.isEmpty ? .failure(.unreachable("no recorded answer")) : answers.removeFirst()
        }
        return try next.get()
    }
}

/// Log lines kept in memory.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var all: [String] { lock.withLock { lines } }

    var logger: Logger {
        Logger(label: "test") { _ in Handler(lines: self) }
    }

    func append(_ line: String) { lock.withLock { lines.append(line) } }

    struct Handler: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let meta = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            lines.append("\(event.level) \(event.message) \(meta)")
        }
    }
}

func context(_ logger: Logger = Logger(label: "t", factory: { _ in SwiftLogNoOpLogHandler() }), proxied: [(String, String)] = [],
             deadline: ContinuousClock.Instant = .now + .seconds(30)) -> UpstreamContext {
    UpstreamContext(requestId: "req-1", proxiedHeaders: proxied, userIdHeader: ("miauserid", "creator"), clientType: nil,
                    deadline: deadline, logger: logger)
}
