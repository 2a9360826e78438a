import Synchronization
import Logging
import StrictJSON
import Testing
import TeleconsultationPorts
@testable import TeleconsultationDomain
@testable import TeleconsultationService

struct FakeTranslator: UserIdTranslator {
    let map: [String: String]
    func auth0Ids(of customIds: [String], context: UpstreamContext) async throws -> [String: String] {
        map.filter { customIds.contains($0.key) }
    }
    func customId(of auth0Id: String, context: UpstreamContext) async throws -> String? {
        map.first { $0.value == auth0Id }?.key
    }
}

/// The original's routes from 1.4 to 2.1, over in-memory ports.
@Suite struct LaterRoutesUseCaseTests {
    @Test func detailsAreAskedOnlyWhenWantedAndNullBeforeTheRoom() async throws {
        let w = World(now: "2026-06-01T10:00:00.000Z")
        let waiting = try await w.create([World.doctor], number: 2)
        let none = try await w.useCases.join.run(roomId: waiting, callerId: "doc", query: JoinQuery(details: true), context: w.ctx)
        #expect(none.details == .some(nil))
        let id = try await w.create([World.doctor, World.patient])
        let room = try #require(w.store.document(id)?.bandyerRoomId)
        w.video.details[room] = RoomDetails(recording: "none", status: "active", live: true)
        let asked = try await w.useCases.join.run(roomId: id, callerId: "pat", query: JoinQuery(details: true), context: w.ctx)
        #expect(asked.details == .some(RoomDetails(recording: "none", status: "active", live: true)))
        let plain = try await w.useCases.join.run(roomId: id, callerId: "pat", context: w.ctx)
        #expect(plain.details == .none)
    }

    @Test func theLinkOpensInTheAskedLanguageAndOverTheBackgroundOnlyForItsGroups() async throws {
        let w = World(now: "2026-06-01T10:00:00.000Z")
        let id = try await w.create([World.doctor, World.patient])
        let query = JoinQuery(language: .it, useBackground: true)
        let doctor = try await w.useCases.join.run(roomId: id, callerId: "doc", query: query, context: w.ctx)
        #expect(doctor.accessLinkURL?.hasSuffix("?language=it&virtual_background=image") == true)
        // Only doctors may have the background here.
        let patient = try await w.useCases.join.run(roomId: id, callerId: "pat", query: query, context: w.ctx)
        #expect(patient.accessLinkURL?.hasSuffix("?language=it") == true)
    }

    @Test func credentialsResolveTheCallerLikeAParticipantAndExpireAsAsked() async throws {
        let w = World()
        // Standalone: only someone the user-id map knows.
        let e = await apiError { _ = try await w.useCases.credentials.run(callerId: "doc", expiresIn: 600, context: w.ctx) }
        #expect(e == .fixed(.unauthorized, "Unauthorized user") && w.video.users.isEmpty)
        _ = try await w.create([World.doctor], number: 3)
        let issued = try await w.useCases.credentials.run(callerId: "doc", expiresIn: 600, context: w.ctx)
        #expect(issued.bandyerUserId == "user1" && issued.accessToken == "token-user1")
        #expect(issued.expiresAt == Timestamp(iso: "2026-05-01T00:10:00.000Z"))
        #expect(w.video.users.count == 1 && w.video.credentialsIssued.map(\.1) == [600])
        // auth0 mode: created when needed, refused when unknown or in no group.
        let a = World(directory: FakeDirectory(known: [DirectoryUser(userId: "a|1", name: "D", groups: ["doctor"]),
                                                       DirectoryUser(userId: "a|2", name: "X", groups: ["visitor"])]))
        #expect(try await a.useCases.credentials.run(callerId: "a|1", expiresIn: 3600, context: a.ctx).bandyerUserId == "user1")
        for caller in ["a|2", "a|9", nil] as [String?] {
            let e = await apiError { _ = try await a.useCases.credentials.run(callerId: caller, expiresIn: 3600, context: a.ctx) }
            #expect(e == .fixed(.unauthorized, "Unauthorized user"))
        }
    }

    @Test func uploadsAreDeletedFourAtATimeAndFailuresCounted() async throws {
        let w = World(now: "2026-06-01T10:00:00.000Z")
        let id = try await w.create([World.doctor, World.patient])
        let room = try #require(w.store.document(id)?.bandyerRoomId)
        w.video.uploadKeys[room] = (0..<25).map { "file-\($0)" }
        w.video.failingUploads = ["file-3", "file-17"]
        let done = try await w.useCases.deleteUploads.run(roomId: id, callerId: "pat", context: w.ctx)
        #expect(done == .init(total: 25, deleted: 23))
        #expect(w.video.mostAtOnce <= 4 && w.video.mostAtOnce > 1)
        #expect(w.logs.text.contains(#""key":"file-3""#) && w.logs.text.contains(#""level":40"#))
        let stranger = await apiError { _ = try await w.useCases.deleteUploads.run(roomId: id, callerId: "eve", context: w.ctx) }
        #expect(stranger == .fixed(.unauthorized, "Unauthorized user"))
        let waiting = try await w.create([World.doctor], number: 3)
        #expect(try await w.useCases.deleteUploads.run(roomId: waiting, callerId: "doc", context: w.ctx) == .init(total: 0, deleted: 0))
    }

    @Test func deletingATeleconsultationDeletesItsUploadsFirst() async throws {
        let w = World(now: "2026-06-01T10:00:00.000Z")
        let id = try await w.create([World.doctor, World.patient])
        let room = try #require(w.store.document(id)?.bandyerRoomId)
        w.video.uploadKeys[room] = ["a", "b"]
        try await w.useCases.delete.run(roomId: id, context: w.ctx)
        #expect(Set(w.video.deletedUploads) == ["a", "b"] && w.video.deleted == [room])
    }

    @Test func settingsAreForPlusCallersOnly() async throws {
        let w = World()
        _ = try await w.create([World.doctor, World.patient], number: 3)
        let image = BackgroundImage(bytes: [0xFF, 0xD8, 0xFF, 0xE0], filename: "b.jpg")
        #expect(try await w.useCases.settings.uploadBackground(callerId: "doc", image: { image }, context: w.ctx).alias == "bg-1")
        // The upload is not even parsed before the caller is known to be a plus user.
        let parsed = Mutex(0)
        let patient = await apiError {
            _ = try await w.useCases.settings.uploadBackground(callerId: "pat", image: { parsed.withLock { $0 += 1 }; return image }, context: w.ctx)
        }
        #expect(patient == .fixed(.unauthorized, "Unauthorized user") && parsed.withLock { $0 } == 0)
        let anonymous = await apiError {
            _ = try await w.useCases.settings.uploadBackground(callerId: nil, image: { parsed.withLock { $0 += 1 }; return image }, context: w.ctx)
        }
        #expect(anonymous == .fixed(.unauthorized, "Unauthorized user") && parsed.withLock { $0 } == 0)
        #expect(try await w.useCases.settings.update(callerId: "doc", backgroundAlias: "bg-1", context: w.ctx).fields["name"] == "Clinic")
        let unknown = await apiError { _ = try await w.useCases.settings.update(callerId: "doc", backgroundAlias: "nope", context: w.ctx) }
        #expect(unknown == .badRequest("body/background_alias must be a background the provider knows"))
    }

    @Test func customIdsAreTranslatedBeforeAuth0ClientAndStoredAsReceived() async throws {
        let w = World(directory: FakeDirectory(known: [DirectoryUser(userId: "auth0|1", name: "Doc", groups: ["doctor"]),
                                                       DirectoryUser(userId: "auth0|2", name: "Pat", groups: ["patient"])]),
                      translator: FakeTranslator(map: ["c-doc": "auth0|1", "c-pat": "auth0|2"]))
        let id = try await w.useCases.create.run(TeleconsultationInput(participants: .init(number: 2, data: [.init(userExternalId: "c-doc"), .init(userExternalId: "c-pat")]),
                                                                       startDate: World.start, endDate: World.end), context: w.ctx)
        #expect(w.store.document(id)?.participants.map(\.userExternalId) == ["c-doc", "c-pat"])
        let info = try await w.useCases.join.run(roomId: id, callerId: "c-pat", context: w.ctx)
        #expect(info.participants.map(\.fullName) == ["Doc", "Pat"])
        let unknown = await apiError {
            _ = try await w.useCases.create.run(TeleconsultationInput(participants: .init(number: 2, data: [.init(userExternalId: "c-doc"), .init(userExternalId: "c-zz")]),
                                                                      startDate: World.start, endDate: World.end), context: w.ctx)
        }
        #expect(unknown == .badRequest("user c-zz not found"))
        let caller = await apiError { _ = try await w.useCases.credentials.run(callerId: "c-zz", expiresIn: 600, context: w.ctx) }
        #expect(caller == .fixed(.unauthorized, "Unauthorized user"))
    }
}
