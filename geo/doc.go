// Package geo is Zhengxiang's geometry: points and H3 cells, the Zhengzhou
// service area and its districts, travel-time models, delivery circles with
// their coverage index, and the live rider index used for matching.
//
// It is the only package that imports h3-go; everything else speaks in
// Point, Cell and the types below. Coordinates are degrees in the city's
// coordinate system (GCJ-02 for the Zhengzhou data).
package geo
