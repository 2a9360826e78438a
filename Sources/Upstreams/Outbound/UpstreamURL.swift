/// An absolute `http` or `https` URL, split into what a request needs: where to connect and
/// what to ask for. Parsed by hand (no Foundation `URL` on every call); user info, which we
/// never send, is refused.
struct UpstreamURL: Equatable {
    /// Where connections go: requests to one origin share a pool.
    struct Origin: Hashable {
        var tls: Bool
        var host: String
        var port: Int
    }

    var origin: Origin
    /// The path and query (at least "/"), without a fragment.
    var target: String
    /// The Host header: the host, and the port when it is not the scheme's own.
    var hostHeader: String

    struct Invalid: Error, Equatable, CustomStringConvertible {
        let url: String
        let reason: String
        var description: String { "invalid upstream URL (\(reason))" }
    }

    init(_ string: String) throws(Invalid) {
        let b = Array(string.utf8)
        func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c + 0x20 : c }
        func starts(with prefix: StaticString) -> Bool {
            let p = UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount)
            return b.count >= p.count && zip(b, p).allSatisfy { lower($0) == $1 }
        }
        let tls: Bool
        var i: Int
        if starts(with: "http://") {
            tls = false
            i = 7
        } else if starts(with: "https://") {
            tls = true
            i = 8
        } else {
            throw Invalid(url: string, reason: "not http or https")
        }
        let authorityStart = i
        while i < b.count, b[i] != UInt8(ascii: "/"), b[i] != UInt8(ascii: "?"), b[i] != UInt8(ascii: "#") { i += 1 }
        let authority = b[authorityStart..<i]
        guard !authority.contains(UInt8(ascii: "@")) else { throw Invalid(url: string, reason: "user info") }

        var host: ArraySlice<UInt8>
        var portText: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { throw Invalid(url: string, reason: "unclosed IPv6 address") }
            host = b[(authority.startIndex + 1)..<close]
            let after = b[(close + 1)..<authority.endIndex]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { throw Invalid(url: string, reason: "bad authority") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: UInt8(ascii: ":")) {
            host = b[authority.startIndex..<colon]
            portText = b[(colon + 1)..<authority.endIndex]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw Invalid(url: string, reason: "no host") }
        let defaultPort = tls ? 443 : 80
        var port = defaultPort
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                throw Invalid(url: string, reason: "bad port")
            }
            port = portText.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard (1...65_535).contains(port) else { throw Invalid(url: string, reason: "bad port") }
        }

        let targetStart = i
        while i < b.count, b[i] != UInt8(ascii: "#") { i += 1 }
        let path = b[targetStart..<i]
        guard !path.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw Invalid(url: string, reason: "space or control character in the path")
        }
        target = path.first == UInt8(ascii: "/") ? String(decoding: path, as: UTF8.self) : "/" + String(decoding: path, as: UTF8.self)

        for j in host.indices { host[j] = lower(host[j]) }
        let hostName = String(decoding: host, as: UTF8.self)
        origin = Origin(tls: tls, host: hostName, port: port)
        let bracketed = host.contains(UInt8(ascii: ":")) ? "[\(hostName)]" : hostName
        hostHeader = port == defaultPort ? bracketed : "\(bracketed):\(port)"
    }
}
