import HTTPTypes
import Responder
import Testing
@testable import TeleconsultationDomain
@testable import TeleconsultationService

@Suite struct BackgroundUploadTests {
    func request(_ body: [UInt8], contentType: String?) -> Request {
        var fields = HTTPFields()
        if let contentType { fields[.contentType] = contentType }
        return Request(head: HTTPRequest(method: .post, scheme: nil, authority: nil, path: "/settings/background-image", headerFields: fields), body: body)
    }

    static func form(_ name: String, _ content: [UInt8], boundary: String = "XyZ") -> [UInt8] {
        Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"my bg.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n".utf8)
            + content + Array("\r\n--\(boundary)--\r\n".utf8)
    }

    static let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2, 3]

    @Test func takesTheJPEGPartNamedVirtualBackground() throws {
        let image = try BackgroundUpload.image(from: request(Self.form("virtual_background", Self.jpeg), contentType: "multipart/form-data; boundary=XyZ"))
        #expect(image.bytes == Self.jpeg && image.filename == "my bg.jpg")
        let quoted = try BackgroundUpload.image(from: request(Self.form("virtual_background", Self.jpeg), contentType: #"Multipart/Form-Data; boundary="XyZ""#))
        #expect(quoted.bytes == Self.jpeg)
    }

    @Test(arguments: [
        (form("virtual_background", jpeg), "application/json", "body/virtual_background must be a file in a multipart/form-data body"),
        (form("virtual_background", jpeg), nil, "body/virtual_background must be a file in a multipart/form-data body"),
        (form("other", jpeg), "multipart/form-data; boundary=XyZ", "body/virtual_background is required: a file part named virtual_background"),
        (form("virtual_background", [0x89, 0x50, 0x4E, 0x47]), "multipart/form-data; boundary=XyZ", "body/virtual_background must be a JPEG image"),
        (Array("not multipart at all".utf8), "multipart/form-data; boundary=XyZ", "body/virtual_background is required: a file part named virtual_background"),
    ] as [([UInt8], String?, String)])
    func refusalsNameTheField(_ body: [UInt8], _ contentType: String?, _ message: String) {
        #expect(throws: ValidationError(message)) { try BackgroundUpload.image(from: request(body, contentType: contentType)) }
    }
}
