import Foundation
import StrictJSON
import Testing

extension Stack {
    /// Runs `teleconsultation-backend sweep` with the app's environment; its exit code and summary.
    func sweep(_ args: [String] = [], name: String = "sweep") throws -> (code: Int32?, summary: JSONValue?, log: String) {
        let child = try Child(appPath, ["sweep"] + args, env: appEnv, dir: dir, name: "\(name)-\(UInt16.random(in: 0...9999))")
        let code = child.waitForExit(timeout: 60)
        let line = child.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return (code, try? JSONParser.parse(line), child.stderr)
    }

    /// Provider rooms as if made `hours` ago.
    func seedRooms(_ ids: [String], hoursAgo hours: Double) async throws {
        let date = iso(-hours * 3600)
        let list = JSONValue.array(ids.map { ["room_id": .string($0), "creation_date": .string(date)] })
        let r = try await control("POST", "/bandyer/rooms", list.jsonString)
        #expect(r.status == 204)
    }
}

extension EndToEnd {
    /// The sweep: rooms of trashed teleconsultations, and (v2) rooms nobody points to.
    @Suite struct SweepEndToEndTests {
        /// A trashed teleconsultation whose room survived (its deletion failed), old orphans,
        /// a young orphan, and old rooms a PUBLIC and a DRAFT document point to.
        func scene(_ s: Stack) async throws -> (trashedRoom: String, liveRoom: String) {
            let id = try await s.create([doctorJSON, patientJSON])
            let room = try #require(try await s.rooms().first?["room_id"]?.stringValue)
            try await s.fault(#"{"service":"bandyer","method":"DELETE","status":503,"times":1}"#)
            #expect(try await s.call("DELETE", "/teleconsultation/\(id)").status == 204)
            try await s.seedRooms(["old-orphan-1", "old-orphan-2", "old-live", "old-draft"], hoursAgo: 2)
            try await s.seedRooms(["young-orphan"], hoursAgo: 0.01)
            try await s.control("POST", "/crud/teleconsultations", #"""
                [{"_id":"aaaaaaaaaaaaaaaaaaaaaa11","__STATE__":"PUBLIC","startDate":"2026-01-01T10:00:00.000Z","endDate":"2026-01-01T11:00:00.000Z","participantsNumber":2,"participants":[],"bandyerRoomId":"old-live"},
                 {"_id":"aaaaaaaaaaaaaaaaaaaaaa12","__STATE__":"DRAFT","startDate":"2026-01-01T10:00:00.000Z","endDate":"2026-01-01T11:00:00.000Z","participantsNumber":2,"participants":[],"bandyerRoomId":"old-draft"}]
                """#)
            let live = try await s.create([doctorJSON, patientJSON])
            let liveRoom = try #require(try await s.teleconsultations().first { $0["_id"]?.stringValue == live }?["bandyerRoomId"]?.stringValue)
            try await s.clearRequests()
            return (room, liveRoom)
        }

        func roomIds(_ s: Stack) async throws -> Set<String> {
            Set(try await s.rooms().compactMap { $0["room_id"]?.stringValue })
        }

        @Test func aV2SweepDeletesTrashedAndOldOrphanRoomsOnly() async throws {
            try await withStack("sweep-v2", dialect: .v2) { s in
                let (trashedRoom, liveRoom) = try await scene(s)
                let dry = try s.sweep(["--dry-run"])
                #expect(dry.code == 0, "\(dry.log)")
                #expect(dry.summary?["trashedRooms"] == 1 && dry.summary?["orphanRooms"] == 2 && dry.summary?["failed"] == 0)
                #expect(Set(dry.summary?["candidates"]?.arrayValue?.compactMap { $0["room"]?.stringValue } ?? []) == [trashedRoom, "old-orphan-1", "old-orphan-2"])
                #expect(try await s.requests(service: "bandyer").allSatisfy { $0["method"] == "GET" }, "a dry run deleted something")
                #expect(try await s.teleconsultations().contains { $0["bandyerRoomId"]?.stringValue == trashedRoom })

                let run = try s.sweep()
                #expect(run.code == 0, "\(run.log)")
                #expect(run.summary == ["trashedRooms": 1, "orphanRooms": 2, "failed": 0], "\(run.summary ?? .null)")
                #expect(try await roomIds(s) == ["old-live", "old-draft", "young-orphan", liveRoom])
                let trashed = try #require(try await s.teleconsultations().first { $0["__STATE__"] == "TRASH" })
                #expect(trashed["bandyerRoomId"] == nil, "the trashed document still names its room")
                // The rooms were listed page by page (the stand-in answers at most 5 a page).
                #expect(try await s.requests(service: "bandyer", path: "/v2/rooms").filter { $0["method"] == "GET" }.count >= 2)
                // Nothing left: a second run finds nothing.
                #expect(try s.sweep().summary == ["trashedRooms": 0, "orphanRooms": 0, "failed": 0])
            }
        }

        @Test func aDeletionThatFailsIsCountedExitsNonZeroAndIsRetriedNextTime() async throws {
            try await withStack("sweep-fail", dialect: .v2) { s in
                let (trashedRoom, _) = try await scene(s)
                try await s.fault(#"{"service":"bandyer","method":"DELETE","path":"/v2/rooms/\#(trashedRoom)","status":503,"times":1}"#)
                try await s.fault(#"{"service":"bandyer","method":"DELETE","path":"/v2/rooms/old-orphan-2","status":503,"times":1}"#)
                let run = try s.sweep()
                #expect(run.code == 1)
                #expect(run.summary == ["trashedRooms": 0, "orphanRooms": 1, "failed": 2], "\(run.summary ?? .null)")
                #expect(run.log.contains(#""bandyerRoomId":"\#(trashedRoom)""#) && run.log.contains(#""level":50"#))
                // The trashed document names its room again, for the next run, which finishes the job.
                #expect(try await s.teleconsultations().contains { $0["__STATE__"] == "TRASH" && $0["bandyerRoomId"]?.stringValue == trashedRoom })
                let next = try s.sweep()
                #expect(next.code == 0 && next.summary == ["trashedRooms": 1, "orphanRooms": 1, "failed": 0], "\(next.summary ?? .null)")
            }
        }

        @Test func twoSweepsAtOnceDeleteEachRoomOnceAndNothingElse() async throws {
            try await withStack("sweep-twice", dialect: .v2) { s in
                let (trashedRoom, liveRoom) = try await scene(s)
                async let first = Task.detached { try s.sweep(name: "first") }.value
                async let second = Task.detached { try s.sweep(name: "second") }.value
                let (a, b) = try await (first, second)
                #expect(a.code == 0 && b.code == 0, "\(a.log)\n\(b.log)")
                let trashedTotal = (a.summary?["trashedRooms"]?.intValue ?? -1) + (b.summary?["trashedRooms"]?.intValue ?? -1)
                let orphanTotal = (a.summary?["orphanRooms"]?.intValue ?? -1) + (b.summary?["orphanRooms"]?.intValue ?? -1)
                #expect(trashedTotal == 1 && orphanTotal == 2, "\(a.summary ?? .null) \(b.summary ?? .null)")
                #expect(try await s.requests(service: "bandyer", path: "/v2/rooms/\(trashedRoom)").filter { $0["method"] == "DELETE" }.count == 1)
                #expect(try await roomIds(s) == ["old-live", "old-draft", "young-orphan", liveRoom])
            }
        }

        @Test func aV1SweepDeletesTheRoomsOfTrashedTeleconsultations() async throws {
            try await withStack("sweep-v1", dialect: .v1) { s in
                let (trashedRoom, _) = try await scene(s)
                let run = try s.sweep()
                #expect(run.code == 0, "\(run.log)")
                // v1 cannot list rooms: orphans stay (and the summary says so).
                #expect(run.summary == ["trashedRooms": 1, "orphanRooms": 0, "failed": 0, "orphansSwept": false], "\(run.summary ?? .null)")
                let left = try await roomIds(s)
                #expect(!left.contains(trashedRoom) && left.contains("old-orphan-1"))
            }
        }
    }
}
