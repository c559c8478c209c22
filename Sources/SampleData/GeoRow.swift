/// A row of `geolocation_data`.
public struct GeoRow: SampleRow {
    public static let table = SampleTable.geo
    public static let columns = ["ind", "timestamp", "latitude", "longitude", "country"]

    public var ind: Int
    public var timestamp: LocalTimestamp
    public var latitude: Double
    public var longitude: Double
    public var country: String

    public init(ind: Int, timestamp: LocalTimestamp, latitude: Double, longitude: Double, country: String) {
        self.ind = ind
        self.timestamp = timestamp
        self.latitude = latitude
        self.longitude = longitude
        self.country = country
    }

    public var key: Int { ind }

    public func appendCSV(to b: inout SampleOutputBuffer) {
        b.integer(ind)
        b.byte(0x2C)
        b.timestamp(timestamp, separator: UInt8(ascii: " "))
        b.byte(0x2C)
        b.double(latitude)
        b.byte(0x2C)
        b.double(longitude)
        b.byte(0x2C)
        b.csvField(country)
        b.byte(0x0A)
    }

    public func appendJSON(to b: inout SampleOutputBuffer) {
        b.raw("{\"ind\":")
        b.integer(ind)
        b.raw(",\"timestamp\":\"")
        b.timestamp(timestamp, separator: UInt8(ascii: "T"))
        b.raw("\",\"latitude\":")
        b.double(latitude)
        b.raw(",\"longitude\":")
        b.double(longitude)
        b.raw(",\"country\":")
        b.jsonString(country)
        b.byte(UInt8(ascii: "}"))
    }
}
