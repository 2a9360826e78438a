import Foundation
import Glibc
import StrictJSON
import Testing

extension Stack {
    /// Runs `teleconsultation-backend sweep` with the app's environment (and `env` over it);
    /// its exit code and summary.
    func sweep(_ args: [String] = [], env: [String: String] = [:], name: String = "sweep") throws -> (code: Int32?, summary: JSONValue?, log: String) {
        let child = try startSweep(args, env: env, name: name)
        let code = child.waitForExit(timeout: 60)
        return (code, Self.summary(of: child), child.stderr)
    }

    func startSweep(_ args: [String] = [], env: [String: String] = [:], name: String = "sweep") throws -> Child {
        try Child(appPath, ["sweep"] + args, env: appEnv.merging(env) { $1 }, dir: dir, name: "\(name)-\(UInt16.random(in: 0...9999))")
    }

    static func summary(of child: Child) -> JSONValue? {
        try? JSONParser.parse(child.stdout.split(separator: "\n").last.map(String.init) ?? "")
    }

    /// Provider rooms as if made `hours` ago (`listedAs`: the listing names it by this other id too).
    func seedRooms(_ ids: [String], hoursAgo hours: Double, listedAs: String? = nil) async throws {
        let date = iso(-hours * 3600)
        let list = JSONValue.array(ids.map {
            var room: JSONObject = ["room_id": .string($0), "creation_date": .string(date)]
            if let listedAs { room["listed_id"] = .string(listedAs) }
            return .object(room)
        })
        let r = try await control("POST", "/bandyer/rooms", list.jsonString)
        #expect(r.status == 204)
    }

    /// Claims of this deployment (collection `teleconsultations`) on rooms, made `hours` ago.
    func seedClaims(_ rooms: [String], hoursAgo hours: Double, collection: String = "teleconsultations") async throws {
        let list = JSONValue.array(rooms.map {
            ["collection": .string(collection), "bandyerRoomId": .string($0), "createdAt": .string(iso(-hours * 3600))]
        })
        let r = try await control("POST", "/crud/teleconsultation-room-claims", list.jsonString)
        #expect(r.status == 204, "\(r.text)")
    }

    /// A room "another application" makes in the same provider account, through the
    /// provider's own API (not through this service).
    func foreignRoom() async throws -> String {
        let bandyer = emulatorURL + dialect.bandyerBase
        let headers = ["apikey": Self.key, "content-type": "application/json"]
        var users: [String] = []
        for role in ["plus", "basic"] {
            let r = try await http("POST", bandyer + (dialect == .v1 ? "/user/create" : "/users"), headers: headers, body: #"{"role":"\#(role)"}"#)
            users.append(try #require((r.json?["user_id"] ?? r.json?["id"])?.stringValue, "\(r.text)"))
        }
        let participants = #"[{"user_id":"\#(users[0])","is_admin":true},{"user_id":"\#(users[1])","is_admin":false}]"#
        let r = try await http("POST", bandyer + (dialect == .v1 ? "/room/create" : "/rooms"), headers: headers,
                               body: dialect == .v1 ? #"{"participants":\#(participants),"live":true}"# : #"{"participants":\#(participants),"live":true,"recording":"none"}"#)
        return try #require((r.json?["room"]?["room_id"] ?? r.json?["id"])?.stringValue, "\(r.text)")
    }

    func claims() async throws -> [JSONValue] { try await state()["crud"]?["teleconsultation-room-claims"]?.arrayValue ?? [] }

    /// Requests that wrote to the CRUD service.
    func crudWrites() async throws -> [JSONValue] {
        try await requests().filter { $0["service"] == "crud" && $0["method"]?.stringValue != "GET" }
    }
}

extension EndToEnd {
    /// The sweep deletes what this deployment made and no longer needs, and nothing else.
    @Suite struct SweepEndToEndTests {
        /// A trashed teleconsultation whose room survived (its deletion failed); old claimed
        /// rooms nobody points to; a young claimed one; old claimed rooms a PUBLIC and a DRAFT
        /// document point to; a live teleconsultation; and rooms of another application, one
        /// made through the provider's API and one old, that no claim names.
        func scene(_ s: Stack) async throws -> (trashedRoom: String, liveRoom: String, foreign: [String]) {
            let id = try await s.create([doctorJSON, patientJSON])
            let room = try #require(try await s.rooms().first?["room_id"]?.stringValue)
            try await s.fault(#"{"service":"bandyer","method":"DELETE","status":503,"times":1}"#)
            #expect(try await s.call("DELETE", "/teleconsultation/\(id)").status == 204)
            try await s.seedRooms(["old-orphan-1", "old-orphan-2", "old-live", "old-draft", "foreign-old"], hoursAgo: 2)
            try await s.seedRooms(["young-orphan"], hoursAgo: 0.01)
            try await s.seedClaims(["old-orphan-1", "old-orphan-2", "old-live", "old-draft"], hoursAgo: 2)
            try await s.seedClaims(["young-orphan"], hoursAgo: 0.01)
            try await s.control("POST", "/crud/teleconsultations", #"""
                [{"_id":"aaaaaaaaaaaaaaaaaaaaaa11","__STATE__":"PUBLIC","startDate":"2026-01-01T10:00:00.000Z","endDate":"2026-01-01T11:00:00.000Z","participantsNumber":2,"participants":[],"bandyerRoomId":"old-live"},
                 {"_id":"aaaaaaaaaaaaaaaaaaaaaa12","__STATE__":"DRAFT","startDate":"2026-01-01T10:00:00.000Z","endDate":"2026-01-01T11:00:00.000Z","participantsNumber":2,"participants":[],"bandyerRoomId":"old-draft"}]
                """#)
            let live = try await s.create([doctorJSON, patientJSON])
            let liveRoom = try #require(try await s.teleconsultations().first { $0["_id"]?.stringValue == live }?["bandyerRoomId"]?.stringValue)
            let foreign = try await s.foreignRoom()
            try await s.clearRequests()
            return (room, liveRoom, [foreign, "foreign-old"])
        }

        func roomIds(_ s: Stack) async throws -> Set<String> {
            Set(try await s.rooms().compactMap { $0["room_id"]?.stringValue })
        }

        @Test func theServiceClaimsEachRoomBeforeAskingTheProviderAndNamesItAfter() async throws {
            try await withStack("sweep-claim", dialect: .v2) { s in
                try await s.clearRequests()
                let id = try await s.create([doctorJSON, patientJSON])
                let room = try #require(try await s.rooms().first?["room_id"]?.stringValue)
                let order = try await s.requests().compactMap { r -> String? in
                    let path = r["path"]?.stringValue ?? ""
                    if r["service"] == "crud", path.contains("room-claims") { return "\(r["method"]?.stringValue ?? "") claim" }
                    if r["service"] == "bandyer", path.hasSuffix("/rooms"), r["method"] == "POST" { return "POST room" }
                    return nil
                }
                #expect(order == ["POST claim", "POST room", "PATCH claim"])
                let claims = try await s.claims()
                #expect(claims.count == 1 && claims.first?["bandyerRoomId"]?.stringValue == room && claims.first?["collection"] == "teleconsultations")
                #expect(try await s.teleconsultations().first { $0["_id"]?.stringValue == id }?["bandyerRoomId"]?.stringValue == room)
                // No claim, no room: the provider is never asked.
                try await s.fault(#"{"service":"crud","method":"POST","path":"/teleconsultation-room-claims/","status":503,"times":1}"#)
                let refused = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[\#(doctorJSON),\#(patientJSON)]},"start_date":"\#(iso(-60))","end_date":"\#(iso(1800))"}"#)
                #expect(refused.status == 502, "\(refused.text)")
                #expect(try await s.rooms().count == 1)
            }
        }

        @Test func aV2SweepDeletesTrashedAndClaimedOrphanRoomsOnly() async throws {
            try await withStack("sweep-v2", dialect: .v2) { s in
                let (trashedRoom, liveRoom, foreign) = try await scene(s)
                let dry = try s.sweep(["--dry-run"])
                #expect(dry.code == 0, "\(dry.log)")
                #expect(dry.summary?["trashedRooms"] == 1 && dry.summary?["orphanRooms"] == 2 && dry.summary?["failed"] == 0)
                #expect(Set(dry.summary?["candidates"]?.arrayValue?.compactMap { $0["room"]?.stringValue } ?? []) == [trashedRoom, "old-orphan-1", "old-orphan-2"])
                #expect(try await s.requests().filter { $0["service"] == "bandyer" }.allSatisfy { $0["method"] == "GET" }, "a dry run deleted something")
                let writes = try await s.crudWrites()
                #expect(writes.isEmpty, "a dry run wrote to the CRUD service: \(writes)")
                #expect(try await s.teleconsultations().contains { $0["bandyerRoomId"]?.stringValue == trashedRoom })

                let run = try s.sweep()
                #expect(run.code == 0, "\(run.log)")
                #expect(run.summary == ["trashedRooms": 1, "orphanRooms": 2, "failed": 0, "unclaimedRooms": 2, "unresolvedClaims": 0], "\(run.summary ?? .null)")
                #expect(try await roomIds(s) == Set(["old-live", "old-draft", "young-orphan", liveRoom] + foreign))
                let trashed = try #require(try await s.teleconsultations().first { $0["__STATE__"] == "TRASH" })
                #expect(trashed["bandyerRoomId"] == nil, "the trashed document still names its room")
                // The rooms were listed page by page (the stand-in answers at most 5 a page).
                #expect(try await s.requests(service: "bandyer", path: "/v2/rooms").filter { $0["method"] == "GET" }.count >= 2)
                // Nothing left: a second run finds nothing to delete.
                #expect(try s.sweep().summary == ["trashedRooms": 0, "orphanRooms": 0, "failed": 0, "unclaimedRooms": 2, "unresolvedClaims": 0])
            }
        }

        @Test(arguments: [Dialect.v1, .v2])
        func roomsNoClaimNamesSurviveEverySweepWhateverTheirAge(_ dialect: Dialect) async throws {
            try await withStack("sweep-foreign-\(dialect)", dialect: dialect) { s in
                let foreign = try await s.foreignRoom()
                try await s.seedRooms(["foreign-old"], hoursAgo: 1000)
                _ = try await s.create([doctorJSON, patientJSON])
                let before = try await roomIds(s)
                #expect(before.count == 3)
                for round in 1...3 {
                    // No grace at all: every claimed room nobody points to would go at once.
                    let run = try s.sweep(env: ["SWEEP_GRACE_MS": "0"], name: "round-\(round)")
                    #expect(run.code == 0, "\(run.log)")
                    #expect(run.summary?["orphanRooms"] == 0 && run.summary?["trashedRooms"] == 0, "\(run.summary ?? .null)")
                    #expect(run.summary?["unclaimedRooms"] == (dialect == .v2 ? 2 : .null), "\(run.summary ?? .null)")
                }
                #expect(try await roomIds(s) == before && before.contains(foreign))
                #expect(try await s.requests().filter { $0["service"] == "bandyer" && $0["method"] == "DELETE" }.isEmpty)
            }
        }

        @Test func aSecondDeploymentWithAnotherCollectionLeavesTheFirstOnesRoomsAlone() async throws {
            try await withStack("sweep-staging", dialect: .v2) { s in
                let (_, liveRoom, foreign) = try await scene(s)
                let all = try await roomIds(s)
                let staging = try s.sweep(env: ["TELECONSULTATIONS_CRUD_NAME": "teleconsultations-staging", "SWEEP_GRACE_MS": "0"], name: "staging")
                #expect(staging.code == 0, "\(staging.log)")
                #expect(staging.summary == ["trashedRooms": 0, "orphanRooms": 0, "failed": 0, "unclaimedRooms": .number(Double(all.count)), "unresolvedClaims": 0],
                        "\(staging.summary ?? .null)")
                #expect(try await roomIds(s) == all)
                // The first deployment's own sweep still does its work.
                let own = try s.sweep()
                #expect(own.summary?["trashedRooms"] == 1 && own.summary?["orphanRooms"] == 2, "\(own.summary ?? .null)")
                #expect(try await roomIds(s) == Set(["old-live", "old-draft", "young-orphan", liveRoom] + foreign))
            }
        }

        @Test func aListingWhoseIdsDisagreeStopsTheSweepBeforeAnyOrphanIsDeleted() async throws {
            try await withStack("sweep-ambiguous", dialect: .v2) { s in
                try await s.seedRooms(["claimed-orphan"], hoursAgo: 2)
                try await s.seedClaims(["claimed-orphan"], hoursAgo: 2)
                try await s.seedRooms(["twice-named"], hoursAgo: 2, listedAs: "other-name")
                let run = try s.sweep()
                #expect(run.code == 1)
                #expect(run.summary?["error"]?.stringValue?.contains("ambiguous") == true, "\(run.summary ?? .null)")
                #expect(try await roomIds(s) == ["claimed-orphan", "twice-named"])
            }
        }

        @Test func aDeletionThatFailsIsCountedExitsNonZeroAndIsRetriedNextTime() async throws {
            try await withStack("sweep-fail", dialect: .v2) { s in
                let (trashedRoom, _, _) = try await scene(s)
                try await s.fault(#"{"service":"bandyer","method":"DELETE","path":"/v2/rooms/\#(trashedRoom)","status":503,"times":1}"#)
                try await s.fault(#"{"service":"bandyer","method":"DELETE","path":"/v2/rooms/old-orphan-2","status":503,"times":1}"#)
                let run = try s.sweep()
                #expect(run.code == 1)
                #expect(run.summary?["trashedRooms"] == 0 && run.summary?["orphanRooms"] == 1 && run.summary?["failed"] == 2, "\(run.summary ?? .null)")
                #expect(run.log.contains(#""bandyerRoomId":"\#(trashedRoom)""#) && run.log.contains(#""level":50"#))
                // The trashed document names its room again, for the next run, which finishes the job.
                #expect(try await s.teleconsultations().contains { $0["__STATE__"] == "TRASH" && $0["bandyerRoomId"]?.stringValue == trashedRoom })
                let next = try s.sweep()
                #expect(next.code == 0 && next.summary?["trashedRooms"] == 1 && next.summary?["orphanRooms"] == 1 && next.summary?["failed"] == 0,
                        "\(next.summary ?? .null)")
            }
        }

        @Test func anUpstreamThatFailsMakesTheSweepExitNonZeroAndSayWhy() async throws {
            try await withStack("sweep-crud-down", dialect: .v2) { s in
                try await s.fault(#"{"service":"crud","method":"GET","status":503}"#)
                let run = try s.sweep()
                #expect(run.code == 1)
                #expect(run.summary?["error"]?.stringValue?.contains("crud") == true, "\(run.summary ?? .null)")
            }
        }

        @Test func twoSweepsAtOnceDeleteEachRoomOnceAndNothingElse() async throws {
            try await withStack("sweep-twice", dialect: .v2) { s in
                let (trashedRoom, liveRoom, foreign) = try await scene(s)
                async let first = Task.detached { try s.sweep(name: "first") }.value
                async let second = Task.detached { try s.sweep(name: "second") }.value
                let (a, b) = try await (first, second)
                #expect(a.code == 0 && b.code == 0, "\(a.log)\n\(b.log)")
                let trashedTotal = (a.summary?["trashedRooms"]?.intValue ?? -1) + (b.summary?["trashedRooms"]?.intValue ?? -1)
                let orphanTotal = (a.summary?["orphanRooms"]?.intValue ?? -1) + (b.summary?["orphanRooms"]?.intValue ?? -1)
                #expect(trashedTotal == 1 && orphanTotal == 2, "\(a.summary ?? .null) \(b.summary ?? .null)")
                #expect(try await s.requests(service: "bandyer", path: "/v2/rooms/\(trashedRoom)").filter { $0["method"] == "DELETE" }.count == 1)
                #expect(try await roomIds(s) == Set(["old-live", "old-draft", "young-orphan", liveRoom] + foreign))
            }
        }

        @Test func aV1SweepDeletesTrashedAndClaimedRoomsWithoutListing() async throws {
            try await withStack("sweep-v1", dialect: .v1) { s in
                let (trashedRoom, _, foreign) = try await scene(s)
                let run = try s.sweep()
                #expect(run.code == 0, "\(run.log)")
                // v1 cannot list rooms: rooms without a claim are not counted (null), and never deleted.
                #expect(run.summary == ["trashedRooms": 1, "orphanRooms": 2, "failed": 0, "unclaimedRooms": nil, "unresolvedClaims": 0], "\(run.summary ?? .null)")
                let left = try await roomIds(s)
                #expect(!left.contains(trashedRoom) && !left.contains("old-orphan-1") && left.isSuperset(of: foreign))
            }
        }

        @Test func checkConfigOnlyChecks() async throws {
            try await withStack("sweep-check", dialect: .v2) { s in
                _ = try await scene(s)
                let run = try s.sweep(["--check-config"])
                #expect(run.code == 0, "\(run.log)")
                #expect(run.log.contains("configuration is valid"))
                #expect(try await s.requests().isEmpty, "sweep --check-config called an upstream")
            }
        }

        @Test func sigtermStopsTheSweepBetweenRoomsAfterTheDeletionUnderWay() async throws {
            try await withStack("sweep-sigterm", dialect: .v2) { s in
                let (trashedRoom, _, _) = try await scene(s)
                // The trashed room's deletion is held until the sweep has been told to stop.
                try await s.fault(#"{"service":"bandyer","method":"DELETE","path":"/v2/rooms/\#(trashedRoom)","delayMs":1500,"times":1}"#)
                let child = try s.startSweep()
                try await s.waitForHeldRequests(atLeast: 1)
                child.signal(SIGTERM)
                let code = child.waitForExit(timeout: 30)
                #expect(code == 0, "\(child.stderr)")
                let summary = Stack.summary(of: child)
                #expect(summary?["stopped"] == true && summary?["trashedRooms"] == 1 && summary?["orphanRooms"] == 0, "\(summary ?? .null)")
                // The room under way was deleted, nothing after it; the next run goes on.
                let left = try await roomIds(s)
                #expect(!left.contains(trashedRoom) && left.contains("old-orphan-1") && left.contains("old-orphan-2"))
                #expect(try s.sweep().summary?["orphanRooms"] == 2)
            }
        }

        @Test func theSweepsDeadlineEndsBeforeTheUnitsStartTimeout() throws {
            let unit = try String(contentsOfFile: Paths.root + "/deploy/systemd/teleconsultation-backend-sweep.service", encoding: .utf8)
            let line = try #require(unit.split(separator: "\n").first { $0.hasPrefix("TimeoutStartSec=") })
            let minutes = try #require(Int(line.dropFirst("TimeoutStartSec=".count).dropLast("min".count)), "\(line)")
            // The default SWEEP_DEADLINE_MS (25 min) plus the last calls' margin (1 min).
            #expect(25 + 1 < minutes)
        }
    }
}
