import Foundation
import StrictJSON
import Testing
extension EndToEnd {
    /// Concurrent requests with two app processes behind one nginx, as on two hosts: in-process
    /// locks cannot help across them, only the CRUD's conditional updates can.
    @Suite struct RaceEndToEndTests {
        static let processes = 2

        @Test func concurrentAdditionsLoseNobodyAndMakeOneRoom() async throws {
            try await withStack("race-add", instances: Self.processes) { s in
                let n = 12
                let id = try await s.create([doctorJSON], number: n + 1, start: iso(3600), end: iso(5400))
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for i in 0..<n {
                        group.addTask {
                            try await s.call("POST", "/teleconsultation/\(id)/participants/data",
                                             body: #"{"userExternalId":"p\#(i)","groups":["patient"],"fullName":"P\#(i)"}"#).status
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }
                }
                #expect(statuses.allSatisfy { $0 == 201 }, "\(statuses)")
                let doc = try #require(try await s.teleconsultations().first)
                let participants = try #require(doc["participants"]?.arrayValue)
                #expect(participants.count == n + 1 && doc["version"]?.intValue == n + 1)
                let rooms = try await s.rooms()
                #expect(rooms.count == 1 && doc["bandyerRoomId"] == rooms[0]["room_id"])
                let members = Set(rooms[0]["participants"]?.arrayValue?.compactMap { $0["user_id"]?.stringValue } ?? [])
                #expect(members == Set(participants.compactMap { $0["userBandyerId"]?.stringValue }))
                let users = try await s.state()["bandyer"]?["users"]?.arrayValue ?? []
                #expect(users.count == n + 1, "each Bandyer user created once")
                // Both processes took part.
                #expect(s.apps.allSatisfy { $0.stderr.contains("participants/data") })
            }
        }

        @Test func firstAppearancesOfOnePersonShareOneBandyerId() async throws {
            try await withStack("race-user", instances: Self.processes) { s in
                let shared = #"{"userExternalId":"shared-doctor","groups":["doctor"],"fullName":"S"}"#
                let ids = try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<10 { group.addTask { try await s.create([shared], number: 3) } }
                    return try await group.reduce(into: [String]()) { $0.append($1) }
                }
                #expect(ids.count == 10)
                let docs = try await s.teleconsultations()
                let bandyerIds = Set(docs.compactMap { $0["participants"]?.arrayValue?.first?["userBandyerId"]?.stringValue })
                #expect(bandyerIds.count == 1, "one Bandyer id across processes: \(bandyerIds)")
                let users = try await s.state()["bandyer"]?["users"]?.arrayValue ?? []
                #expect(users.count <= Self.processes, "at most one Bandyer user per process: \(users.count)")
                let map = try await s.state()["crud"]?["teleconsultation-users"]?.arrayValue ?? []
                let oldest = map.sorted { ($0["createdAt"]?.stringValue ?? "", $0["_id"]?.stringValue ?? "") < ($1["createdAt"]?.stringValue ?? "", $1["_id"]?.stringValue ?? "") }.first
                #expect(bandyerIds.first == oldest?["bandyerId"]?.stringValue, "the oldest mapping wins")
            }
        }

        @Test func patchRacingAnAdditionLeavesDocumentAndRoomInAgreement() async throws {
            try await withStack("race-patch", instances: Self.processes) { s in
                for round in 0..<6 {
                    let id = try await s.create([doctorJSON], number: 2, start: iso(3600), end: iso(5400))
                    async let add = s.call("POST", "/teleconsultation/\(id)/participants/data",
                                           body: #"{"userExternalId":"a\#(round)","groups":["patient"],"fullName":"A"}"#)
                    async let patch = s.call("PATCH", "/teleconsultation/\(id)",
                                             body: #"{"participants":{"number":2,"data":[\#(doctorJSON),{"userExternalId":"b\#(round)","groups":["patient"],"fullName":"B"}]}}"#)
                    let (a, p) = try await (add, patch)
                    #expect([201, 409].contains(a.status) && p.status == 204, "\(a.status) \(a.text) / \(p.status) \(p.text)")
                    let doc = try #require(try await s.teleconsultations().first { $0["_id"]?.stringValue == id })
                    let participants = doc["participants"]?.arrayValue ?? []
                    let room = try await s.rooms().first { $0["room_id"] == doc["bandyerRoomId"] }
                    #expect(room != nil, "the stored room exists")
                    let members = Set(room?["participants"]?.arrayValue?.compactMap { $0["user_id"]?.stringValue } ?? [])
                    #expect(members == Set(participants.compactMap { $0["userBandyerId"]?.stringValue }), "room and document agree")
                    #expect(participants.allSatisfy { $0["accessLinkURL"]?.stringValue?.contains(doc["bandyerRoomId"]?.stringValue ?? "-") == true })
                }
                try await FaultEndToEndTests.checkInvariants(s, "patch race")
            }
        }
    }
}
