/// One element of an S3 XML document: its local name, its text and its child elements.
///
/// S3 answers with small, flat documents (`ListBucketResult`, `Error`, `InitiateMultipartUploadResult`,
/// `CompleteMultipartUploadResult`), so a tree of these is all the client needs. Namespaces are ignored
/// (a prefix such as `s3:` is stripped from names).
public struct S3XMLNode: Sendable, Equatable {
    public var name: String
    /// The concatenated character data directly inside this element, entities decoded.
    public var text: String
    public var children: [S3XMLNode]

    public init(name: String, text: String = "", children: [S3XMLNode] = []) {
        self.name = name
        self.text = text
        self.children = children
    }

    /// The first child element called `name`.
    public func child(_ name: String) -> S3XMLNode? {
        children.first { $0.name == name }
    }

    /// Every child element called `name`, in document order.
    public func children(_ name: String) -> [S3XMLNode] {
        children.filter { $0.name == name }
    }

    /// The text of the first child called `name`.
    public func text(of name: String) -> String? {
        child(name)?.text
    }

    /// Parses a document and returns its root element, or nil when the bytes are not well-formed XML.
    public static func parse(_ bytes: some Collection<UInt8>) -> S3XMLNode? {
        var parser = S3XMLParser(Array(bytes))
        return parser.parseDocument()
    }
}
