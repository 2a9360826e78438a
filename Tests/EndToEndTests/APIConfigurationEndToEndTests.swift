import Foundation
import Glibc
import StrictJSON
import Testing
extension EndToEnd {
    /// Behaviour that depends on configuration, through nginx against the stand-ins.
    @Suite struct APIConfigurationEndToEndTests {
        @Test(arguments: Dialect.allCases)
        func configFileDecidesToolsAdminLiveFlagAndWhereTheCallerIs(_ d: Dialect) async throws {
            let dir = tempDir("cfg")
            let file = dir + "/config.json"
            try Data(#"""
            {"privileges":{"plus":{"groups":["doctor"],"tools":{"chat":true,"whiteboard":true}},
                           "basic":{"groups":["patient"],"tools":{"chat":true,"screen_sharing":false}}},
             "userIdPathInRequest":[{"from":"object","extract":"headers"},{"from":"object","extract":"miauserproperties"},
                                    {"from":"json","extract":"ids"},{"from":"array","extract":0}],
             "environment":"sandbox","theme":{"dark":{"primaryColor":"#000"}}}
            """#.utf8).write(to: URL(fileURLWithPath: file))
            // Behind a gateway: the edge profile would not let a caller's id come from miauserproperties.
            try await withStack("cfg", env: ["TELECONSULTATION_SERVICE_CONFIG_PATH": file, "LIVE_TELECONSULTATION": "false", "NGINX_PROFILE": "gateway"],
                                dialect: d) { s in
                let id = try await s.create([doctorJSON, patientJSON])
                let body = try #require(try await s.requests(d.createRoom).first?["body"])
                #expect(body["live"] == false)
                #expect(body["participants"]?.arrayValue?.map { $0["tools"] } == [["chat": true, "whiteboard": true], ["chat": true, "screen_sharing": false]])
                #expect(body["participants"]?.arrayValue?.map { $0["is_admin"] } == [true, false])
                let r = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserproperties": #"{"ids":["pat-1","other"]}"#])
                let patientBandyer = try await s.teleconsultations().first?["participants"]?.arrayValue?[1]["userBandyerId"]
                #expect(r.status == 200 && r.json?["bandyerUserId"] == patientBandyer)
                #expect(try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "pat-1"]).status == 401)
            }
        }

        /// The edge profile strips and sets only miauserid: the real binary refuses to serve
        /// behind it (and --check-config says so) when the caller's id would come from anywhere
        /// else, and accepts the same configuration behind a gateway.
        @Test func anIdentityTheEdgeProfileDoesNotSetIsRefusedThereAndAcceptedBehindAGateway() throws {
            let dir = tempDir("edge-identity")
            let file = dir + "/config.json"
            try Data(#"""
            {"privileges":{"plus":{"groups":["doctor"]},"basic":{"groups":["patient"]}},
             "userIdPathInRequest":[{"from":"object","extract":"query"},{"from":"object","extract":"userId"}]}
            """#.utf8).write(to: URL(fileURLWithPath: file))
            let base = ["BANDYER_API_SECRET_KEY": "k", "BANDYER_BASE_URL": "http://127.0.0.1:9/b"]
            for (n, (extra, key)) in [(["USERID_HEADER_KEY": "x-user-id"], "USERID_HEADER_KEY"),
                                      (["TELECONSULTATION_SERVICE_CONFIG_PATH": file], "TELECONSULTATION_SERVICE_CONFIG_PATH userIdPathInRequest")].enumerated() {
                for profile in [nil, "edge"] {
                    var env = base.merging(extra) { a, _ in a }
                    env["NGINX_PROFILE"] = profile
                    for (m, args) in [["--check-config"], ["--socket", dir + "/app.sock"]].enumerated() {
                        let refused = try Child(Paths.app, args, env: env, dir: dir, name: "refused-\(n)-\(profile ?? "default")-\(m)")
                        #expect(refused.waitForExit(timeout: 10) == 1, "\(env) \(args)")
                        let lines = refused.stderr.split(separator: "\n")
                        let line = try JSONParser.parse(String(lines.first ?? ""))
                        #expect(lines.count == 1 && line["level"] == 60 && line["key"]?.stringValue == key, "\(refused.stderr)")
                        #expect(line["reason"]?.stringValue?.contains("NGINX_PROFILE is edge") == true, "\(refused.stderr)")
                    }
                }
                var env = base.merging(extra) { a, _ in a }
                env["NGINX_PROFILE"] = "gateway"
                let accepted = try Child(Paths.app, ["--check-config"], env: env, dir: dir, name: "accepted-\(n)")
                #expect(accepted.waitForExit(timeout: 10) == 0, "\(accepted.stderr)")
                #expect(accepted.stderr.contains(#""nginxProfile":"gateway""#), "\(accepted.stderr)")
            }
        }

        @Test(arguments: Dialect.allCases)
        func aBandyerUserIsMadeOncePerPersonAndUpgradedWhenNeeded(_ d: Dialect) async throws {
            try await withStack("users", dialect: d) { s in
                let asPatient = #"{"userExternalId":"sam","groups":["patient"],"fullName":"Sam"}"#
                let asDoctor = #"{"userExternalId":"sam","groups":["doctor"],"fullName":"Sam"}"#
                _ = try await s.create([asPatient], number: 3)
                _ = try await s.create([asPatient, doctorJSON], number: 3)
                var users = try await s.state()["bandyer"]?["users"]?.arrayValue ?? []
                #expect(users.count == 2)
                // Sam is now a doctor: a new plus user, and the map entry is repointed.
                _ = try await s.create([asDoctor], number: 3)
                users = try await s.state()["bandyer"]?["users"]?.arrayValue ?? []
                #expect(users.map { $0["role"] } == ["basic", "plus", "plus"])
                let map = try await s.state()["crud"]?["teleconsultation-users"]?.arrayValue ?? []
                let sam = try #require(map.first { $0["receivedUserId"] == "sam" })
                #expect(map.count == 2 && sam["role"] == "plus" && sam["bandyerId"] == users[2]["user_id"])
                // Never downgraded: as a patient again, the plus user joins as a non-admin.
                _ = try await s.create([asPatient, doctorJSON])
                #expect(try await s.state()["bandyer"]?["users"]?.arrayValue?.count == 3)
                let room = try #require(try await s.requests(d.createRoom).last?["body"]?["participants"]?.arrayValue)
                #expect(room[0]["user_id"] == sam["bandyerId"] && room[0]["is_admin"] == false)
            }
        }

        @Test(arguments: Dialect.allCases)
        func deleteAnswers204WhenBandyerFailsAndLogsTheRoom(_ d: Dialect) async throws {
            try await withStack("delete", dialect: d) { s in
                let id = try await s.create([doctorJSON, patientJSON])
                let room = try #require(try await s.teleconsultations().first?["bandyerRoomId"]?.stringValue)
                try await s.fault(#"{"service":"bandyer","method":"DELETE","status":503}"#)
                #expect(try await s.call("DELETE", "/teleconsultation/\(id)").status == 204)
                let doc = try #require(try await s.teleconsultations().first)
                #expect(doc["__STATE__"] == "TRASH" && doc["bandyerRoomId"]?.stringValue == room)
                #expect(waitUntil { s.app?.stderr.contains(#""bandyerRoomId":"\#(room)""#) == true })
                #expect(s.app?.stderr.contains(#""level":50"#) == true)
                // An already-gone room is fine.
                try await s.control("DELETE", "/faults")
                let second = try await s.create([doctorJSON, patientJSON])
                let secondRoom = try #require(try await s.teleconsultations().last?["bandyerRoomId"]?.stringValue)
                // Gone already, through the other dialect: the stand-in keeps one state for both.
                let other = d == .v1 ? "/bandyer/v2/rooms/\(secondRoom)" : "/bandyer/room/delete/\(secondRoom)"
                #expect(try await http("DELETE", s.emulatorURL + other, headers: ["apikey": Stack.key]).status == 200)
                #expect(try await s.call("DELETE", "/teleconsultation/\(second)").status == 204)
            }
        }

        @Test(arguments: Dialect.allCases)
        func auth0ModeServesEveryRoute(_ d: Dialect) async throws {
            try await withStack("auth0-routes", auth0: true, env: ["DEFAULT_CLIENT_TYPE": "frontend"], dialect: d) { s in
                try await s.seedAuth0(#"[{"user_id":"d","name":"Doc","groups":["doctor"]},{"user_id":"p","name":"Pat","groups":["patient"]},{"user_id":"q","name":"Quinn","groups":["patient"]}]"#)
                let id = try await s.create([#"{"userExternalId":"d"}"#], number: 2, start: iso(3600), end: iso(5400))
                _ = try await s.control("DELETE", "/requests")
                // The last participant: one auth0 call for everybody, then the room.
                let added = try await s.call("POST", "/teleconsultation/\(id)/participants/data", body: #"{"userExternalId":"p","language":"it"}"#)
                #expect(added.status == 201)
                let lookups = try await s.requests(service: "auth0")
                #expect(lookups.count == 1 && lookups.first?["query"]?["_q"] == #"{"user_id":{"$in":["d","p"]}}"#)
                #expect(try await s.rooms().count == 1)
                // PATCH with an array of ids replaces the participants (and the room).
                let patched = try await s.call("PATCH", "/teleconsultation/\(id)", body: #"{"participants":["d","q"]}"#)
                #expect(patched.status == 204)
                let doc = try #require(try await s.teleconsultations().first)
                #expect(doc["participants"]?.arrayValue?.map { $0["userExternalId"] } == ["d", "q"])
                let rooms = try await s.rooms()
                #expect(rooms.count == 1 && rooms[0]["room_id"] == doc["bandyerRoomId"])
                // A participant auth0-client no longer knows has a null name.
                try await s.seedAuth0(#"[{"user_id":"d","name":"Doc","groups":["doctor"]}]"#)
                let join = try await s.call("GET", "/teleconsultation/\(id)", headers: ["miauserid": "d"])
                #expect(join.json?["participantsBandyerCall"]?.arrayValue?.map { $0["fullName"] } == ["Doc", .null])
                #expect(try await s.call("DELETE", "/teleconsultation/\(id)").status == 204)
                #expect(try await s.rooms().isEmpty)
            }
        }

        @Test func defaultClientTypeIsUsedWhenTheRequestHasNone() async throws {
            try await withStack("clienttype", auth0: true, env: ["DEFAULT_CLIENT_TYPE": "backoffice"]) { s in
                try await s.seedAuth0(#"[{"user_id":"d","name":"Doc","groups":["doctor"]},{"user_id":"p","name":"Pat","groups":["customer"]}]"#)
                let r = try await s.call("POST", "/teleconsultation", body: #"{"participants":{"number":2,"data":[{"userExternalId":"d","language":"it"},{"userId":"p"}]},"start_date":"\#(iso(60))","end_date":"\#(iso(660))"}"#)
                #expect(r.status == 201, "\(r.text)")
                #expect(try await s.requests(service: "auth0").first?["headers"]?["client-type"] == "backoffice")
                let stored = try await s.teleconsultations().first?["participants"]?.arrayValue ?? []
                #expect(stored.map { $0["userExternalId"] } == ["d", "p"] && stored[0]["language"] == "it")
            }
        }

        @Test func servesASocketPassedSystemdStyleOnFd3() throws {
            let dir = tempDir("listenfds")
            let sock = dir + "/activated.sock"
            // It sets LISTEN_FDS/LISTEN_PID and passes only the variables given with -E.
            let child = try Child("/usr/bin/systemd-socket-activate",
                                  ["-l", sock, "-E", "BANDYER_API_SECRET_KEY=k", "-E", "BANDYER_BASE_URL=http://127.0.0.1:9/b", Paths.app],
                                  env: [:], dir: dir, name: "activate")
            defer { child.stop() }
            #expect(waitUntil { FileManager.default.fileExists(atPath: sock) })
            let (_, out) = try run("/usr/bin/cgi-fcgi", ["-bind", "-connect", sock], env: ["REQUEST_METHOD": "GET", "REQUEST_URI": "/-/healthz"])
            #expect(out.contains("Status: 200 OK") && out.contains(#""status":"OK""#), "\(out) \(child.stderr)")
        }
    }
}
