// Pixels of a cairo image surface as an RgbImage: the one conversion the rasterisers and the
// PNG reader share.
#pragma once

#include <cairo.h>

#include "render/render_types.h"

namespace visrl::render {

// ARGB32 (premultiplied) is composited on white: a channel c with alpha a becomes
// c + (255 - a). RGB24 is copied (its top byte is undefined). Flushes the surface first.
RgbImage rgb_from_surface(cairo_surface_t* surface);

}  // namespace visrl::render
