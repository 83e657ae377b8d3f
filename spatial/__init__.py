"""Pure analysis: takes GeoDataFrames and arrays, returns them; never opens a database or reads config."""
