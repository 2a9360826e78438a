import StrictJSON
import TeleconsultationDomain

/// The JSON file named by `TELECONSULTATION_SERVICE_CONFIG_PATH`, strictly validated:
/// unknown keys, wrong types and empty group lists stop start-up, naming the key.
struct ServiceConfigFile: Sendable {
    var privileges: Privileges
    var userIdPathInRequest: [Configuration.UserIdStep]?
    /// Groups whose members may open calls over the company background (nil: everyone).
    var groupsWithBackgroundList: [String]?
    /// Which fields of the custom-id users' documents hold the custom and the auth0 id.
    var customUserId: Configuration.CustomUserIdFields?

    static let builtIn = ServiceConfigFile(privileges: .default, userIdPathInRequest: nil)
    static let envKey = "TELECONSULTATION_SERVICE_CONFIG_PATH"

    static func parse(_ bytes: [UInt8], userIdHeaderKey: String) throws(ConfigurationError) -> ServiceConfigFile {
        let root: JSONValue
        do { root = try JSONParser.parse(bytes) } catch {
            throw ConfigurationError(key: envKey, reason: "invalid JSON at \(error.path.isEmpty ? "/" : error.path): \(error)")
        }
        let reader = Reader()
        let top = try reader.object(root, at: "", allowed: ["privileges", "userIdPathInRequest", "environment", "mode", "theme", "companyLogo",
                                                                   "groupsWithBackgroundList", "customUserId"])
        guard let privilegesValue = top["privileges"] else { throw reader.fail("privileges", "is required") }
        let privs = try reader.object(privilegesValue, at: "privileges", allowed: ["basic", "plus"])
        func grant(_ name: String) throws(ConfigurationError) -> Privileges.Grant {
            let path = "privileges.\(name)"
            guard let value = privs[name] else { throw reader.fail(path, "is required") }
            let g = try reader.object(value, at: path, allowed: ["groups", "tools"])
            guard let groupsValue = g["groups"] else { throw reader.fail("\(path).groups", "is required") }
            guard let groups = groupsValue.arrayValue, !groups.isEmpty else { throw reader.fail("\(path).groups", "must be a non-empty array of strings") }
            var names: [String] = []
            for (i, v) in groups.enumerated() {
                guard let s = v.stringValue, !s.isEmpty else { throw reader.fail("\(path).groups.\(i)", "must be a non-empty string") }
                names.append(s)
            }
            var tools: ToolSet?
            if let t = g["tools"] {
                let o = try reader.object(t, at: "\(path).tools", allowed: ToolSet.knownKeys)
                var list: [(name: String, enabled: Bool)] = []
                for m in o.members {
                    guard let b = m.value.boolValue else { throw reader.fail("\(path).tools.\(m.key)", "must be a boolean") }
                    list.append((m.key, b))
                }
                tools = ToolSet(list)
            }
            return Privileges.Grant(groups: names, tools: tools)
        }
        let privileges = Privileges(basic: try grant("basic"), plus: try grant("plus"))

        var steps: [Configuration.UserIdStep]?
        if let pathValue = top["userIdPathInRequest"] {
            guard let list = pathValue.arrayValue, !list.isEmpty else {
                throw reader.fail("userIdPathInRequest", "must be a non-empty array of steps")
            }
            steps = []
            for (i, item) in list.enumerated() {
                let at = "userIdPathInRequest.\(i)"
                let o = try reader.object(item, at: at, allowed: ["from", "extract"])
                guard let from = o["from"]?.stringValue.flatMap(Configuration.UserIdStep.Source.init(rawValue:)) else {
                    throw reader.fail("\(at).from", "must be one of object|json|array")
                }
                let extract: String
                switch o["extract"] {
                case .string(let s)?: extract = s
                case .number? where o["extract"]?.intValue != nil: extract = String(o["extract"]!.intValue!)
                default: throw reader.fail("\(at).extract", "must be a string (or an integer for from: array)")
                }
                if from == .array && (Int(extract) ?? -1) < 0 {
                    throw reader.fail("\(at).extract", "must be a non-negative integer index for from: array")
                }
                steps?.append(.init(from: from, extract: extract))
            }
        }

        if let env = top["environment"] {
            guard let s = env.stringValue, ["sandbox", "production"].contains(s) else {
                throw reader.fail("environment", "must be sandbox or production")
            }
        }
        if let mode = top["mode"], mode.stringValue == nil { throw reader.fail("mode", "must be a string") }
        if let theme = top["theme"] {
            let t = try reader.object(theme, at: "theme", allowed: ["light", "dark"])
            for m in t.members {
                let colors = try reader.object(m.value, at: "theme.\(m.key)", allowed: ["primaryColor", "accentColor"])
                for c in colors.members where c.value.stringValue == nil {
                    throw reader.fail("theme.\(m.key).\(c.key)", "must be a string")
                }
            }
        }
        if let logo = top["companyLogo"] {
            let l = try reader.object(logo, at: "companyLogo", allowed: ["url"])
            if let u = l["url"], u.stringValue == nil { throw reader.fail("companyLogo.url", "must be a string") }
        }
        var backgroundGroups: [String]?
        if let list = top["groupsWithBackgroundList"] {
            guard let items = list.arrayValue else { throw reader.fail("groupsWithBackgroundList", "must be an array of strings") }
            backgroundGroups = []
            for (i, v) in items.enumerated() {
                guard let g = v.stringValue, !g.isEmpty else { throw reader.fail("groupsWithBackgroundList.\(i)", "must be a non-empty string") }
                backgroundGroups?.append(g)
            }
        }
        var customUserId: Configuration.CustomUserIdFields?
        if let c = top["customUserId"] {
            let o = try reader.object(c, at: "customUserId", allowed: ["source", "target"])
            guard let source = o["source"]?.stringValue, !source.isEmpty else { throw reader.fail("customUserId.source", "must be a non-empty string") }
            guard let target = o["target"]?.stringValue, !target.isEmpty else { throw reader.fail("customUserId.target", "must be a non-empty string") }
            customUserId = .init(source: source, target: target)
        }
        return ServiceConfigFile(privileges: privileges, userIdPathInRequest: steps, groupsWithBackgroundList: backgroundGroups,
                                 customUserId: customUserId)
    }

    private struct Reader {
        func fail(_ path: String, _ reason: String) -> ConfigurationError {
            ConfigurationError(key: "\(ServiceConfigFile.envKey) \(path.isEmpty ? "(root)" : path)", reason: reason)
        }

        func object(_ value: JSONValue, at path: String, allowed: [String]) throws(ConfigurationError) -> JSONObject {
            guard let o = value.objectValue else { throw fail(path, "must be an object") }
            for k in o.keys where !allowed.contains(k) {
                throw fail(path.isEmpty ? k : "\(path).\(k)", "is not a known key")
            }
            return o
        }
    }
}
