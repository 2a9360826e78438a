import StrictJSON
import Testing
@testable import TeleconsultationDomain

@Suite struct LaterRulesTests {
    @Test(arguments: [
        ("https://v/join/r/u", LinkLanguage?.some(.it), false, "https://v/join/r/u?language=it"),
        ("https://v/join/r/u", nil, true, "https://v/join/r/u?virtual_background=image"),
        ("https://v/join/r/u?t=1", .some(.en), true, "https://v/join/r/u?t=1&language=en&virtual_background=image"),
        ("https://v/join/r/u?", .some(.de), false, "https://v/join/r/u?language=de"),
        ("https://v/join/r/u?t=1#frag", .some(.fr), false, "https://v/join/r/u?t=1&language=fr#frag"),
        ("https://v/join/r/u", nil, false, "https://v/join/r/u"),
    ])
    func linksKeepTheirQueryAndFragment(_ url: String, _ language: LinkLanguage?, _ background: Bool, _ expected: String) {
        #expect(JoinLink.decorate(url, language: language, background: background) == expected)
    }

    @Test func theQueryTakesKnownParametersAndNamesABadLanguage() throws {
        #expect(try JoinQuery.parse([("details", "true"), ("language", "pl"), ("useBackground", "true"), ("other", "x")])
                == JoinQuery(details: true, language: .pl, useBackground: true))
        #expect(try JoinQuery.parse([("details", "1"), ("useBackground", "yes")]) == JoinQuery())
        #expect(throws: ValidationError("querystring/language must be equal to one of the allowed values: it, en, pl, fr, de, es")) {
            try JoinQuery.parse([("language", "xx")])
        }
    }

    @Test func theBackgroundPolicyWithoutAListAllowsEveryone() {
        #expect(BackgroundPolicy(groups: nil).allows(groups: []))
        #expect(BackgroundPolicy(groups: ["doctor"]).allows(groups: ["nurse", "doctor"]))
        #expect(!BackgroundPolicy(groups: ["doctor"]).allows(groups: ["patient"]))
    }

    @Test func credentialsExpireAfterTheAskedSecondsWithinBounds() throws {
        #expect(try BodyValidator.credentials([]) == 3600)
        #expect(try BodyValidator.credentials(Array("{}".utf8)) == 3600)
        #expect(try BodyValidator.credentials(Array(#"{"expiresIn":360}"#.utf8)) == 360)
        #expect(throws: ValidationError("body/expiresIn must be >= 360")) { try BodyValidator.credentials(Array(#"{"expiresIn":359}"#.utf8)) }
        #expect(throws: ValidationError("body/expiresIn must be <= 86400")) { try BodyValidator.credentials(Array(#"{"expiresIn":86401}"#.utf8)) }
        #expect(throws: ValidationError("body/expiresIn must be integer")) { try BodyValidator.credentials(Array(#"{"expiresIn":"600"}"#.utf8)) }
        #expect(throws: ValidationError("body must NOT have additional property 'ttl'")) { try BodyValidator.credentials(Array(#"{"ttl":600}"#.utf8)) }
    }

    @Test func aJPEGIsKnownByItsFirstBytes() {
        #expect(BackgroundImage.isJPEG([0xFF, 0xD8, 0xFF, 0xE0, 0x00]))
        #expect(!BackgroundImage.isJPEG([0x89, 0x50, 0x4E, 0x47]))
        #expect(!BackgroundImage.isJPEG([0xFF, 0xD8]))
    }

    @Test func theSettingsBodyIsStrict() throws {
        #expect(try BodyValidator.settingsUpdate(["background_alias": "bg"]) == "bg")
        #expect(throws: ValidationError("body must have required property 'background_alias'")) { try BodyValidator.settingsUpdate([:]) }
        #expect(throws: ValidationError("body must NOT have additional property 'x'")) { try BodyValidator.settingsUpdate(["background_alias": "bg", "x": 1]) }
        #expect(throws: ValidationError("body/background_alias must be string")) { try BodyValidator.settingsUpdate(["background_alias": 1]) }
    }

    @Test func detailsCarryTheTenFieldsInTheAPIsNames() {
        let d = RoomDetails(recording: "manual", durationInSeconds: 600)
        #expect(d.json.objectValue?.keys == ["recording", "recordingStatus", "callType", "description", "status", "disabled",
                                             "creationDate", "durationInSeconds", "durationUsedInSeconds", "live"])
        #expect(d.json["recording"] == "manual" && d.json["durationInSeconds"] == 600 && d.json["live"] == .null)
    }
}
