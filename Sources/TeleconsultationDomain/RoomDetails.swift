import StrictJSON

/// A room as the provider describes it (GET `details=true`). Values are the provider's, as
/// given; a field it does not give is null.
public struct RoomDetails: Sendable, Equatable {
    public var recording: JSONValue
    public var recordingStatus: JSONValue
    public var callType: JSONValue
    public var description: JSONValue
    public var status: JSONValue
    public var disabled: JSONValue
    public var creationDate: JSONValue
    public var durationInSeconds: JSONValue
    public var durationUsedInSeconds: JSONValue
    public var live: JSONValue

    public init(recording: JSONValue = .null, recordingStatus: JSONValue = .null, callType: JSONValue = .null,
                description: JSONValue = .null, status: JSONValue = .null, disabled: JSONValue = .null,
                creationDate: JSONValue = .null, durationInSeconds: JSONValue = .null, durationUsedInSeconds: JSONValue = .null,
                live: JSONValue = .null) {
        self.recording = recording
        self.recordingStatus = recordingStatus
        self.callType = callType
        self.description = description
        self.status = status
        self.disabled = disabled
        self.creationDate = creationDate
        self.durationInSeconds = durationInSeconds
        self.durationUsedInSeconds = durationUsedInSeconds
        self.live = live
    }

    /// The ten fields of GET's `details`, in the API's names.
    public var json: JSONValue {
        .object(JSONObject(uniqueKeysWithValues: [
            ("recording", recording), ("recordingStatus", recordingStatus), ("callType", callType),
            ("description", description), ("status", status), ("disabled", disabled), ("creationDate", creationDate),
            ("durationInSeconds", durationInSeconds), ("durationUsedInSeconds", durationUsedInSeconds), ("live", live),
        ]))
    }
}
