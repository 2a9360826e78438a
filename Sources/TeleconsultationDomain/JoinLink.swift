/// The languages a personal link can be opened in (`language=` on GET).
public enum LinkLanguage: String, Sendable, Equatable, CaseIterable {
    case it, en, pl, fr, de, es
}

/// What GET's query asks for: the room's details, and how the caller's link opens.
public struct JoinQuery: Sendable, Equatable {
    /// `details=true`: the provider's room information.
    public var details: Bool
    public var language: LinkLanguage?
    /// `useBackground=true`: the company's virtual background, where the caller may have it.
    public var useBackground: Bool

    public init(details: Bool = false, language: LinkLanguage? = nil, useBackground: Bool = false) {
        self.details = details
        self.language = language
        self.useBackground = useBackground
    }

    /// From the query's parameters; other parameters are ignored.
    public static func parse(_ items: [(key: String, value: String)]) throws(ValidationError) -> JoinQuery {
        var query = JoinQuery()
        for (key, value) in items {
            switch key {
            case "details": query.details = value == "true"
            case "useBackground": query.useBackground = value == "true"
            case "language":
                guard let l = LinkLanguage(rawValue: value) else {
                    throw ValidationError("querystring/language must be equal to one of the allowed values: "
                                          + LinkLanguage.allCases.map(\.rawValue).joined(separator: ", "))
                }
                query.language = l
            default: continue
            }
        }
        return query
    }
}

/// A personal link as the caller opens it: `language=` and `virtual_background=image` added
/// to its query, the link's own query and fragment kept.
public enum JoinLink {
    public static func decorate(_ url: String, language: LinkLanguage?, background: Bool) -> String {
        var added: [String] = []
        if let language { added.append("language=\(language.rawValue)") }
        if background { added.append("virtual_background=image") }
        guard !added.isEmpty else { return url }
        var base = Substring(url)
        var fragment: Substring = ""
        if let hash = base.firstIndex(of: "#") {
            fragment = base[hash...]
            base = base[..<hash]
        }
        let separator = base.contains("?") ? (base.hasSuffix("?") || base.hasSuffix("&") ? "" : "&") : "?"
        return String(base) + separator + added.joined(separator: "&") + fragment
    }
}

/// Who may open the call over the company's virtual background (`groupsWithBackgroundList`).
public struct BackgroundPolicy: Sendable, Equatable {
    /// nil: every caller.
    public var groups: [String]?

    public init(groups: [String]?) { self.groups = groups }

    public func allows(groups callerGroups: [String]) -> Bool {
        guard let groups else { return true }
        return callerGroups.contains(where: groups.contains)
    }
}
