import HTTPTypes

/// Method + path templates (`/teleconsultation/:roomId`) → handler.
public struct Router<Handler: Sendable>: Sendable {
    public struct Route: Sendable {
        public let method: HTTPRequest.Method
        /// The template, e.g. `/teleconsultation/:roomId`: also the `route` label in logs and metrics.
        public let template: String
        let segments: [Segment]
        public let handler: Handler
    }

    enum Segment: Sendable, Equatable {
        case literal(Substring)
        case parameter(String)
    }

    public enum Match {
        case found(Route, parameters: [String: String])
        case methodNotAllowed(allowed: [HTTPRequest.Method])
        case notFound
    }

    public private(set) var routes: [Route] = []
    /// The routes by their number of segments: only those can match a path.
    private var bySegmentCount: [Int: [Route]] = [:]
    /// Routes without parameters, by their path: found without splitting the path.
    private var literal: [Substring: [Route]] = [:]

    public init() {}

    public mutating func add(_ method: HTTPRequest.Method, _ template: String, _ handler: Handler) {
        let segments: [Segment] = template.split(separator: "/").map { s in
            s.hasPrefix(":") ? .parameter(String(s.dropFirst())) : .literal(s)
        }
        let route = Route(method: method, template: template, segments: segments, handler: handler)
        routes.append(route)
        bySegmentCount[segments.count, default: []].append(route)
        if !segments.contains(where: { if case .parameter = $0 { true } else { false } }) {
            literal[Substring(template), default: []].append(route)
        }
    }

    /// Matches a percent-encoded path; parameters are returned percent-decoded.
    public func match(method: HTTPRequest.Method, path: Substring) -> Match {
        if let exact = literal[path], let route = exact.first(where: { $0.method == method || (method == .head && $0.method == .get) }) {
            return .found(route, parameters: [:])
        }
        // The segments after the first "/" (what comes before it, "" in a path, is not one),
        // in one array sized once.
        var parts: [Substring] = []
        parts.reserveCapacity(8)
        if var start = path.utf8.firstIndex(of: UInt8(ascii: "/")).map({ path.utf8.index(after: $0) }) {
            var i = start
            while i < path.utf8.endIndex {
                if path.utf8[i] == UInt8(ascii: "/") {
                    parts.append(path[start..<i])
                    start = path.utf8.index(after: i)
                }
                i = path.utf8.index(after: i)
            }
            parts.append(path[start...])
        }
        // A trailing slash is not the same route ("/teleconsultation/" has an empty id).
        var allowed: [HTTPRequest.Method] = []
        for route in bySegmentCount[parts.count] ?? [] {
            let matches = zip(route.segments, parts).allSatisfy { segment, part in
                switch segment {
                case .literal(let l): return l == part
                case .parameter: return !part.isEmpty
                }
            }
            guard matches else { continue }
            if route.method == method || (method == .head && route.method == .get) {
                var parameters: [String: String] = [:]
                for (segment, part) in zip(route.segments, parts) {
                    if case .parameter(let name) = segment { parameters[name] = String(part).removingPercentEncodingLossless }
                }
                return .found(route, parameters: parameters)
            }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }
}

extension String {
    /// Percent-decoding that never fails: invalid sequences stay as they are.
    var removingPercentEncodingLossless: String {
        guard utf8.contains(UInt8(ascii: "%")) else { return self }
        var out: [UInt8] = []
        let bytes = Array(utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let h = hex(bytes[i + 1]), let l = hex(bytes[i + 2]) {
                out.append(h << 4 | l); i += 3
            } else {
                out.append(bytes[i]); i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
