#include "render/pdf_raster.h"

#include <memory>

#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-image.h>
#include <poppler-page-renderer.h>
#include <poppler-page.h>

#include "core/error.h"

namespace visrl::render {

RgbImage rasterize_pdf(const std::filesystem::path& pdf, double dpi) {
  const auto name = pdf.string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(pdf, ec)) fail(ErrorKind::io, "{}: cannot read the PDF: no such file", name);
  // poppler prints its complaints about damaged files to stderr; the error below names the file.
  poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr);
  std::unique_ptr<poppler::document> doc(poppler::document::load_from_file(name));
  if (!doc) fail(ErrorKind::format, "{}: not a readable PDF", name);
  if (doc->is_locked()) fail(ErrorKind::format, "{}: the PDF is encrypted", name);
  if (doc->pages() < 1) fail(ErrorKind::format, "{}: the PDF has no page", name);
  std::unique_ptr<poppler::page> page(doc->create_page(0));
  if (!page) fail(ErrorKind::format, "{}: the PDF's first page cannot be read", name);
  poppler::page_renderer renderer;
  renderer.set_render_hints(poppler::page_renderer::antialiasing | poppler::page_renderer::text_antialiasing |
                            poppler::page_renderer::text_hinting);
  renderer.set_image_format(poppler::image::format_argb32);
  renderer.set_paper_color(0xffffffff);  // white under transparent parts, as a saved PNG on white
  const poppler::image image = renderer.render_page(page.get(), dpi, dpi);
  if (!image.is_valid() || image.width() <= 0 || image.height() <= 0)
    fail(ErrorKind::format, "{}: the PDF's first page did not render at {} dpi", name, dpi);
  RgbImage out;
  out.width = image.width();
  out.height = image.height();
  out.rgb.resize(static_cast<size_t>(out.width) * static_cast<size_t>(out.height) * 3);
  // format_argb32: one native-endian uint32 0xAARRGGBB per pixel, rows bytes_per_row apart.
  const char* data = image.const_data();
  for (int y = 0; y < out.height; ++y) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + static_cast<ptrdiff_t>(y) * image.bytes_per_row());
    for (int x = 0; x < out.width; ++x) {
      const uint32_t p = row[x];
      uint8_t* o = &out.rgb[(static_cast<size_t>(y) * static_cast<size_t>(out.width) + static_cast<size_t>(x)) * 3];
      o[0] = static_cast<uint8_t>(p >> 16);
      o[1] = static_cast<uint8_t>(p >> 8);
      o[2] = static_cast<uint8_t>(p);
    }
  }
  return out;
}

}  // namespace visrl::render
