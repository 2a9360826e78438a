import StrictJSON
import TeleconsultationDomain

/// The wire format of the teleconsultations collection, in the names of the original
/// service's public schema. Documents written by its 1.0–1.1 schema are read too:
/// participants with `bandyerId` (and no `userExternalId`), no `participantsNumber` (all
/// participants known) and no dates (such a teleconsultation is complete and in the past:
/// it can be joined and deleted, no longer changed). Writes always use today's names.
enum CRUDDocuments {
    /// The fields we write (everything but `_id` and the CRUD's own).
    static func fields(of t: Teleconsultation) -> JSONObject {
        var o = JSONObject()
        o["startDate"] = .string(t.startDate.iso)
        o["endDate"] = .string(t.endDate.iso)
        o["participantsNumber"] = .number(Double(t.participantsNumber))
        o["participants"] = .array(t.participants.map(json(of:)))
        if let room = t.bandyerRoomId { o["bandyerRoomId"] = .string(room) }
        o["teleconsultationState"] = .string(t.state.rawValue)
        if let version = t.version { o["version"] = .number(Double(version)) }
        return o
    }

    static func json(of p: Participant) -> JSONValue {
        var o = JSONObject()
        o["userExternalId"] = .string(p.userExternalId)
        if let b = p.userBandyerId { o["userBandyerId"] = .string(b) }
        if let g = p.groups { o["groups"] = .array(g.map(JSONValue.string)) }
        if let n = p.fullName { o["fullName"] = .string(n) }
        if let l = p.language { o["language"] = .string(l) }
        if let link = p.accessLinkURL { o["accessLinkURL"] = .string(link) }
        return .object(o)
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    /// A stored document as the domain sees it. `externalIds` maps the Bandyer ids of
    /// legacy participants (stored without an external id) to their external ids.
    static func teleconsultation(_ value: JSONValue, externalIds: [String: String] = [:]) throws(Malformed) -> Teleconsultation {
        guard let o = value.objectValue, let id = o["_id"]?.stringValue, Identifiers.isCRUDId(id) else {
            throw Malformed(description: "no valid _id")
        }
        let items = o["participants"]?.arrayValue ?? []
        var participants: [Participant] = []
        participants.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            participants.append(try participant(item, at: i, externalIds: externalIds))
        }
        let legacyEpoch = Timestamp(milliseconds: 0)
        let start = try date(o["startDate"], "startDate") ?? legacyEpoch
        let end = try date(o["endDate"], "endDate") ?? start
        let number: Int
        if let n = o["participantsNumber"] {
            guard let v = n.intValue, v >= 0 else { throw Malformed(description: "participantsNumber is not an integer") }
            number = v
        } else {
            number = participants.count
        }
        var room: String?
        if let r = o["bandyerRoomId"], !r.isNull {
            guard let s = r.stringValue, Identifiers.isProviderId(s) else { throw Malformed(description: "bandyerRoomId is not a provider id") }
            room = s
        }
        return Teleconsultation(id: id, startDate: start, endDate: end, participantsNumber: number, participants: participants,
                                bandyerRoomId: room, version: o["version"]?.intValue)
    }

    static func date(_ value: JSONValue?, _ name: String) throws(Malformed) -> Timestamp? {
        guard let value, !value.isNull else { return nil }
        guard let s = value.stringValue, let t = Timestamp(iso: s) else { throw Malformed(description: "\(name) is not a date") }
        return t
    }

    static func participant(_ value: JSONValue, at i: Int, externalIds: [String: String]) throws(Malformed) -> Participant {
        guard let o = value.objectValue else { throw Malformed(description: "participants.\(i) is not an object") }
        var bandyerId: String?
        if let b = (o["userBandyerId"] ?? o["bandyerId"]), !b.isNull {
            guard let s = b.stringValue, Identifiers.isProviderId(s) else { throw Malformed(description: "participants.\(i) has no valid Bandyer id") }
            bandyerId = s
        }
        let external: String
        if let id = o["userExternalId"]?.stringValue ?? o["userId"]?.stringValue {
            external = id
        } else if let b = bandyerId {
            // A legacy participant the map no longer names (its entry was repointed since):
            // still part of the teleconsultation, but no caller can be matched to it.
            external = externalIds[b] ?? ""
        } else {
            throw Malformed(description: "participants.\(i) has no external id")
        }
        var groups: [String]?
        if let g = o["groups"]?.arrayValue { groups = g.compactMap(\.stringValue) } else if let g = o["group"]?.stringValue { groups = [g] }
        return Participant(userExternalId: external, userBandyerId: bandyerId, groups: groups, fullName: o["fullName"]?.stringValue,
                           language: o["language"]?.stringValue, accessLinkURL: o["accessLinkURL"]?.stringValue)
    }

    /// Bandyer ids of participants stored without an external id (the 1.0–1.1 schema).
    static func legacyBandyerIds(_ value: JSONValue) -> [String] {
        (value["participants"]?.arrayValue ?? []).compactMap { p in
            guard p["userExternalId"] == nil, p["userId"] == nil else { return nil }
            return (p["userBandyerId"] ?? p["bandyerId"])?.stringValue.flatMap { Identifiers.isProviderId($0) ? $0 : nil }
        }
    }
}
