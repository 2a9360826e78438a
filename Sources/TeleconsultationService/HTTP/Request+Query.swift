import Responder

extension Request {
    /// The query string's parameters, decoded (`+` is a space), in order; the first of
    /// repeated names wins. Linear in the query's length.
    public var queryItems: [(key: String, value: String)] {
        var items: [(key: String, value: String)] = []
        var seen = Set<String>()
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(parts[0]).replacingPlus.removingPercentEncodingLossless
            let value = parts.count > 1 ? String(parts[1]).replacingPlus.removingPercentEncodingLossless : ""
            if seen.insert(key).inserted { items.append((key, value)) }
        }
        return items
    }

    /// One query parameter (the first, if repeated).
    public func queryItem(_ name: String) -> String? {
        queryItems.first { $0.key == name }?.value
    }
}

extension String {
    var replacingPlus: String { contains("+") ? String(map { $0 == "+" ? " " : $0 }) : self }
}
