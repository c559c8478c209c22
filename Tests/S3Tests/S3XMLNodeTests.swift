import Testing

@testable import S3

@Suite struct S3XMLNodeTests {
    @Test func parsesAListBucketResult() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Name>bucket</Name><Prefix>topics/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
              <IsTruncated>true</IsTruncated>
              <Contents><Key>topics/a.pin/partition=0/a.pin+0+0000000000.json</Key>
                <LastModified>2026-11-29T07:15:38.000Z</LastModified><ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>
                <Size>1234</Size><StorageClass>STANDARD</StorageClass></Contents>
              <Contents><Key>a &amp; b &lt;c&gt; &#233;&#x263A;</Key><Size>0</Size><ETag>"x"</ETag></Contents>
              <CommonPrefixes><Prefix>topics/a.geo/</Prefix></CommonPrefixes>
              <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
            </ListBucketResult>
            """
        let page = try #require(S3Client.listPage(Array(xml.utf8)))
        #expect(page.keys == ["topics/a.pin/partition=0/a.pin+0+0000000000.json", "a & b <c> é☺"])
        #expect(page.objects[0].size == 1234)
        #expect(page.objects[0].etag == "9b2cf535f27731c974343645a3985328")
        #expect(page.objects[0].lastModified?.timeIntervalSince1970 == 1_795_936_538)
        #expect(page.objects[1].etag == "x")
        #expect(page.isTruncated)
        #expect(page.nextContinuationToken == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
        #expect(page.commonPrefixes == ["topics/a.geo/"])
    }

    @Test func parsesErrorDocumentsWithCDATAAndComments() throws {
        let node = try #require(
            S3XMLNode.parse(Array("<Error><!-- c --><Code>NoSuchKey</Code><Message><![CDATA[a <raw> key]]></Message><Empty/></Error>".utf8)))
        #expect(node.name == "Error")
        #expect(node.text(of: "Code") == "NoSuchKey")
        #expect(node.text(of: "Message") == "a <raw> key")
        #expect(node.child("Empty")?.text == "")
    }

    @Test func rejectsMalformedDocuments() {
        #expect(S3XMLNode.parse(Array("<a><b></a>".utf8)) == nil)
        #expect(S3XMLNode.parse(Array("<a>".utf8)) == nil)
        #expect(S3XMLNode.parse(Array("not xml".utf8)) == nil)
        #expect(S3XMLNode.parse(Array("<a>&bogus;</a>".utf8)) == nil)
        #expect(S3XMLNode.parse([UInt8]()) == nil)
    }

    @Test func stripsNamespacePrefixes() throws {
        let node = try #require(S3XMLNode.parse(Array("<s3:Root xmlns:s3='x'><s3:Key>k</s3:Key></s3:Root>".utf8)))
        #expect(node.name == "Root")
        #expect(node.text(of: "Key") == "k")
    }
}
