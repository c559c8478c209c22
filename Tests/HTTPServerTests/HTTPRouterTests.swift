import HTTPServer
import NIOCore
import NIOHTTP1
import Testing

@Suite struct HTTPRouterTests {
    func router() -> HTTPRouter {
        var router = HTTPRouter()
        router.on(.GET, "/metrics") { _ in HTTPResponse(contentType: "text/plain", body: "up 1\n") }
        router.on(.POST, "/ingest") { request in
            HTTPResponse(contentType: "text/plain", body: "got \(request.body.readableBytes) bytes")
        }
        return router
    }

    @Test func anUnknownPathIs404() async {
        let response = await router().respond(to: HTTPRequest(method: .GET, uri: "/nope"))
        #expect(response.status == .notFound)
    }

    @Test func aKnownPathWithAnotherMethodIs405WithAllow() async {
        let response = await router().respond(to: HTTPRequest(method: .DELETE, uri: "/metrics"))
        #expect(response.status == .methodNotAllowed)
        #expect(response.headers["Allow"] == ["GET, HEAD"])
    }

    @Test func theQueryIsNotPartOfThePath() async {
        let request = HTTPRequest(method: .GET, uri: "/metrics?name[]=x")
        #expect(request.path == "/metrics")
        #expect(request.query == "name[]=x")
        #expect(await router().respond(to: request).status == .ok)
    }

    @Test func headIsGetWithoutTheBody() async {
        let response = await router().respond(to: HTTPRequest(method: .HEAD, uri: "/metrics"))
        #expect(response.status == .ok)
        #expect(response.body.readableBytes == 0)
        #expect(response.headers["Content-Length"] == ["5"])
    }
}
