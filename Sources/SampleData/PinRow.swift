/// A row of `pinterest_data`.
public struct PinRow: SampleRow {
    public static let table = SampleTable.pin
    public static let columns = [
        "index", "unique_id", "title", "description", "poster_name", "follower_count", "tag_list",
        "is_image_or_video", "image_src", "downloaded", "save_location", "category",
    ]

    public var index: Int
    public var uniqueID: String
    public var title: String
    public var description: String
    public var posterName: String
    /// Text as in the source: `"437"`, `"26k"`, `"6M"`, `"0"` or `User Info Error`.
    public var followerCount: String
    public var tagList: String
    public var isImageOrVideo: String
    public var imageSource: String
    public var downloaded: Int
    public var saveLocation: String
    public var category: String

    public init(
        index: Int, uniqueID: String, title: String, description: String, posterName: String,
        followerCount: String, tagList: String, isImageOrVideo: String, imageSource: String, downloaded: Int,
        saveLocation: String, category: String
    ) {
        self.index = index
        self.uniqueID = uniqueID
        self.title = title
        self.description = description
        self.posterName = posterName
        self.followerCount = followerCount
        self.tagList = tagList
        self.isImageOrVideo = isImageOrVideo
        self.imageSource = imageSource
        self.downloaded = downloaded
        self.saveLocation = saveLocation
        self.category = category
    }

    public var key: Int { index }

    public func appendCSV(to b: inout SampleOutputBuffer) {
        b.integer(index)
        b.byte(0x2C)
        b.csvField(uniqueID)
        b.byte(0x2C)
        b.csvField(title)
        b.byte(0x2C)
        b.csvField(description)
        b.byte(0x2C)
        b.csvField(posterName)
        b.byte(0x2C)
        b.csvField(followerCount)
        b.byte(0x2C)
        b.csvField(tagList)
        b.byte(0x2C)
        b.csvField(isImageOrVideo)
        b.byte(0x2C)
        b.csvField(imageSource)
        b.byte(0x2C)
        b.integer(downloaded)
        b.byte(0x2C)
        b.csvField(saveLocation)
        b.byte(0x2C)
        b.csvField(category)
        b.byte(0x0A)
    }

    public func appendJSON(to b: inout SampleOutputBuffer) {
        b.raw("{\"index\":")
        b.integer(index)
        b.raw(",\"unique_id\":")
        b.jsonString(uniqueID)
        b.raw(",\"title\":")
        b.jsonString(title)
        b.raw(",\"description\":")
        b.jsonString(description)
        b.raw(",\"poster_name\":")
        b.jsonString(posterName)
        b.raw(",\"follower_count\":")
        b.jsonString(followerCount)
        b.raw(",\"tag_list\":")
        b.jsonString(tagList)
        b.raw(",\"is_image_or_video\":")
        b.jsonString(isImageOrVideo)
        b.raw(",\"image_src\":")
        b.jsonString(imageSource)
        b.raw(",\"downloaded\":")
        b.integer(downloaded)
        b.raw(",\"save_location\":")
        b.jsonString(saveLocation)
        b.raw(",\"category\":")
        b.jsonString(category)
        b.byte(UInt8(ascii: "}"))
    }
}
