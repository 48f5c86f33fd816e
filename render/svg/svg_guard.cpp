#include "render/svg/svg_guard.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include "render/markup_scan.h"
#include "render/svg/svg_urls.h"

namespace visrl::render {
namespace {

using svg_detail::classify_url;
using svg_detail::PayloadKind;
using svg_detail::quote_for_reason;
using svg_detail::trim;
using svg_detail::UrlKind;

// An SVG in a data: URL of an SVG is guarded like the document; one level is what real
// drawings use, more is only a way to make the guard recurse.
constexpr int kMaxDataUrlNesting = 1;
constexpr size_t kMaxReasonBytes = 240;

std::string_view as_view(const xmlChar* text) {
  return text ? std::string_view(reinterpret_cast<const char*>(text)) : std::string_view();
}

// A CSS length converted to px at 96 dpi; nullopt for percentages and what does not parse,
// which librsvg resolves against the viewport or refuses itself.
std::optional<double> length_in_px(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::invalid_argument) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // from_chars leaves the value alone: tell 1e999 (too large) from 1e-999 (zero).
    const std::string_view number(text.data(), static_cast<size_t>(end - text.data()));
    const size_t e = number.find_first_of("eE");
    const bool tiny = e != std::string_view::npos && e + 1 < number.size() && number[e + 1] == '-';
    value = tiny ? 0.0 : std::numeric_limits<double>::infinity();
  }
  std::string unit(trim(text.substr(static_cast<size_t>(end - text.data()))));
  for (char& c : unit) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;  // 1E6PX is 1e6px
  constexpr std::pair<std::string_view, double> kUnits[] = {
      {"", 1.0},           {"px", 1.0},        {"in", 96.0}, {"cm", 96.0 / 2.54}, {"mm", 96.0 / 25.4},
      {"pt", 96.0 / 72.0}, {"pc", 96.0 / 6.0}, {"em", 16.0}, {"ex", 8.0},
  };
  for (const auto& [name, px] : kUnits) {
    if (unit == name) return value * px;
  }
  return std::nullopt;
}

// Where a reference was found, for the reason; formatted only when something is refused.
struct Where {
  std::string_view element;
  std::string_view attribute;  // empty for the text of <style>

  std::string str() const {
    return attribute.empty() ? fmt::format("<{}>", element.substr(0, 40))
                             : fmt::format("<{} {}>", element.substr(0, 40), attribute.substr(0, 40));
  }
};

class Guard {
 public:
  Guard(const SvgRenderOptions& options, int nesting) : options_(options), nesting_(nesting) {}

  std::optional<RenderResult> run(std::string_view svg);

 private:
  static xmlSAXHandler handler();
  // Runs a callback's work. Nothing may unwind through libxml2's C frames: an exception (only
  // std::bad_alloc can happen) stops the parser and refuses the document.
  template <typename Work>
  static void with(void* self, Work&& work) noexcept;

  void on_error(const xmlError& error);
  void end_element(std::string_view name);
  void start_element(std::string_view name, int nb_attributes, const xmlChar** attributes);
  void check_root(int nb_attributes, const xmlChar** attributes);
  void check_reference(std::string_view url, const Where& where);
  void check_css(std::string_view css, const Where& where, bool stylesheet);
  void check_data_url(std::string_view url, const Where& where);
  void refuse(RenderStatus status, std::string reason);

  const SvgRenderOptions& options_;
  const int nesting_;
  xmlParserCtxtPtr ctxt_ = nullptr;
  int depth_ = 0;
  int64_t elements_ = 0;
  int style_open_ = 0;  // > 0 inside a <style> element, whose text is CSS
  std::string style_text_;
  std::optional<RenderResult> verdict_;
  std::string parse_error_;
  bool depth_error_ = false;
  bool failed_ = false;  // an exception in a callback
};

void Guard::refuse(RenderStatus status, std::string reason) {
  if (!verdict_) {
    if (reason.size() > kMaxReasonBytes) reason.resize(kMaxReasonBytes);
    verdict_ = make_result(status, sanitize_utf8(reason));
  }
  // Stops the parser at once: nothing after the first refusal is read.
  xmlStopParser(ctxt_);
}

void Guard::start_element(std::string_view name, int nb_attributes, const xmlChar** attributes) {
  if (verdict_) return;
  if (depth_ == 0 && elements_ == 0) {
    if (name != "svg") {
      return refuse(RenderStatus::no_code, fmt::format("the root element is <{}>, not <svg>", name.substr(0, 40)));
    }
    check_root(nb_attributes, attributes);
    if (verdict_) return;
  }
  if (++elements_ > options_.max_elements) {
    return refuse(RenderStatus::rejected, fmt::format("more than {} elements (max_elements)", options_.max_elements));
  }
  if (++depth_ > options_.max_depth) {
    return refuse(RenderStatus::rejected,
                  fmt::format("elements nested deeper than {} (max_depth)", options_.max_depth));
  }
  if (name == "style") ++style_open_;

  // A hyperlink is followed by nobody here; every other href is a resource librsvg loads.
  const bool hyperlink = name == "a";
  for (int i = 0; i < nb_attributes && !verdict_; ++i) {
    // SAX2 gives five pointers per attribute: local name, prefix, URI, value begin, value end.
    const xmlChar** attribute = attributes + 5 * i;
    const std::string_view attr = as_view(attribute[0]);
    const std::string_view value(reinterpret_cast<const char*>(attribute[3]),
                                 static_cast<size_t>(attribute[4] - attribute[3]));
    const Where where{name, attr};
    if (attr == "href" || attr == "src") {
      if (!hyperlink) check_reference(value, where);
    } else {
      check_css(value, where, attr == "style");
    }
  }
}

void Guard::check_root(int nb_attributes, const xmlChar** attributes) {
  for (int i = 0; i < nb_attributes && !verdict_; ++i) {
    const xmlChar** attribute = attributes + 5 * i;
    if (attribute[1] != nullptr) continue;  // a prefixed attribute is not the root's geometry
    const std::string_view attr = as_view(attribute[0]);
    const std::string_view value(reinterpret_cast<const char*>(attribute[3]),
                                 static_cast<size_t>(attribute[4] - attribute[3]));
    std::vector<std::pair<std::string_view, double>> sides;
    if (attr == "width" || attr == "height") {
      if (auto px = length_in_px(value)) sides.emplace_back(attr, *px);
    } else if (attr == "viewBox") {
      // "min-x min-y width height", separated by whitespace and/or commas.
      std::string numbers(value);
      std::replace(numbers.begin(), numbers.end(), ',', ' ');
      std::vector<double> parsed;
      for (size_t pos = 0; pos < numbers.size() && parsed.size() < 5;) {
        pos = numbers.find_first_not_of(" \t\r\n", pos);
        if (pos == std::string::npos) break;
        const size_t end = std::min(numbers.find_first_of(" \t\r\n", pos), numbers.size());
        const auto px = length_in_px(std::string_view(numbers).substr(pos, end - pos));
        if (!px) break;
        parsed.push_back(*px);
        pos = end;
      }
      if (parsed.size() == 4) sides = {{"viewBox width", parsed[2]}, {"viewBox height", parsed[3]}};
    }
    for (const auto& [side, px] : sides) {
      if (std::abs(px) > options_.max_intrinsic_side) {
        return refuse(RenderStatus::rejected, fmt::format("root {} of {:g} px exceeds max_intrinsic_side ({:g})", side,
                                                          px, options_.max_intrinsic_side));
      }
    }
  }
}

void Guard::check_reference(std::string_view url, const Where& where) {
  switch (classify_url(url)) {
    case UrlKind::empty:
    case UrlKind::fragment:
      return;
    case UrlKind::data:
      return check_data_url(url, where);
    case UrlKind::external:
      return refuse(RenderStatus::rejected,
                    fmt::format("external resource {} in {} (only #fragment and data: URLs are allowed)",
                                quote_for_reason(trim(url)), where.str()));
  }
}

void Guard::check_css(std::string_view css, const Where& where, bool stylesheet) {
  // Most attribute values (coordinates, colours, path data) cannot hold a reference.
  if (!stylesheet && css.find('(') == std::string_view::npos) return;
  const svg_detail::CssReferences refs = svg_detail::scan_css(css);
  if (stylesheet && refs.has_import) {
    return refuse(RenderStatus::rejected,
                  fmt::format("@import in {} (external stylesheets are not allowed)", where.str()));
  }
  for (const std::string& url : refs.urls) {
    check_reference(url, where);
    if (verdict_) return;
  }
}

void Guard::check_data_url(std::string_view url, const Where& where) {
  url = trim(url);
  if (url.size() > options_.max_data_url_bytes) {
    return refuse(RenderStatus::rejected, fmt::format("data: URL of {} bytes in {} exceeds max_data_url_bytes ({})",
                                                      url.size(), where.str(), options_.max_data_url_bytes));
  }
  const auto data = svg_detail::decode_data_url(url);
  if (!data) return refuse(RenderStatus::rejected, fmt::format("malformed data: URL in {}", where.str()));
  switch (svg_detail::sniff_payload(data->payload)) {
    case PayloadKind::png:
    case PayloadKind::jpeg:
    case PayloadKind::gif:
      return;
    case PayloadKind::markup: {
      // librsvg loads an SVG image as a document of its own: it gets the same guard.
      if (nesting_ >= kMaxDataUrlNesting) {
        return refuse(RenderStatus::rejected,
                      fmt::format("SVG in a data: URL inside an SVG data: URL in {} (nested too deep)", where.str()));
      }
      Guard inner(options_, nesting_ + 1);
      if (auto refusal = inner.run(data->payload)) {
        return refuse(RenderStatus::rejected, fmt::format("document in data: URL in {}: {} ({})", where.str(),
                                                          refusal->reason, to_string(refusal->status)));
      }
      return;
    }
    case PayloadKind::other:
      // gdk-pixbuf would sniff it and pick one of its many loaders (TGA, ICO, XPM, ...).
      return refuse(RenderStatus::rejected,
                    fmt::format("data: URL in {} holds neither PNG, JPEG, GIF nor SVG", where.str()));
  }
}

template <typename Work>
void Guard::with(void* self, Work&& work) noexcept {
  auto& guard = *static_cast<Guard*>(self);
  try {
    work(guard);
  } catch (...) {
    guard.failed_ = true;
    xmlStopParser(guard.ctxt_);
  }
}

void Guard::end_element(std::string_view name) {
  if (verdict_) return;
  --depth_;
  if (style_open_ > 0 && name == "style" && --style_open_ == 0) {
    check_css(style_text_, Where{"style", ""}, true);
    style_text_.clear();
  }
}

void Guard::on_error(const xmlError& error) {
  if (error.level < XML_ERR_ERROR || !parse_error_.empty()) return;
  std::string message;
  for (char c : trim(error.message ? error.message : "malformed XML")) {
    // libxml2 puts the offending bytes on a second line; a reason is one line.
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c != ' ' || message.empty() || message.back() != ' ') message += c;
  }
  // libxml2's own depth limit (256 without XML_PARSE_HUGE) is a limit, not a syntax error.
  depth_error_ = message.starts_with("Excessive depth");
  parse_error_ = fmt::format("line {}: {}", error.line, message);
  // Only the first error is reported, and librsvg refuses the document on it as well; without
  // a halt libxml2 would go on (and format a message per error) to the end of the input.
  xmlStopParser(ctxt_);
}

// Only these callbacks run: no tree is built, no DTD is read, no entity is resolved.
xmlSAXHandler Guard::handler() {
  xmlSAXHandler sax{};
  sax.initialized = XML_SAX2_MAGIC;
  sax.startElementNs = [](void* self, const xmlChar* localname, const xmlChar*, const xmlChar*, int, const xmlChar**,
                          int nb_attributes, int, const xmlChar** attributes) {
    with(self, [&](Guard& g) { g.start_element(as_view(localname), nb_attributes, attributes); });
  };
  sax.endElementNs = [](void* self, const xmlChar* localname, const xmlChar*, const xmlChar*) {
    with(self, [&](Guard& g) { g.end_element(as_view(localname)); });
  };
  sax.characters = [](void* self, const xmlChar* text, int length) {
    with(self, [&](Guard& g) {
      if (g.style_open_ > 0 && !g.verdict_) {
        g.style_text_.append(reinterpret_cast<const char*>(text), static_cast<size_t>(length));
      }
    });
  };
  sax.cdataBlock = sax.characters;
  // librsvg substitutes entities itself, so one declaration is enough for an expansion bomb
  // (billion laughs) or an external entity; SVG drawings have no use for them.
  sax.entityDecl = [](void* self, const xmlChar* name, int, const xmlChar*, const xmlChar*, xmlChar*) {
    with(self, [&](Guard& g) {
      g.refuse(RenderStatus::rejected, fmt::format("DOCTYPE declares entity {} (entity declarations are not allowed)",
                                                   as_view(name).substr(0, 40)));
    });
  };
  sax.unparsedEntityDecl = [](void* self, const xmlChar* name, const xmlChar*, const xmlChar*, const xmlChar*) {
    with(self, [&](Guard& g) {
      g.refuse(RenderStatus::rejected, fmt::format("DOCTYPE declares entity {} (entity declarations are not allowed)",
                                                   as_view(name).substr(0, 40)));
    });
  };
  // librsvg loads the stylesheet an <?xml-stylesheet href=...?> names.
  sax.processingInstruction = [](void* self, const xmlChar* target, const xmlChar*) {
    with(self, [&](Guard& g) {
      if (as_view(target) == "xml-stylesheet") {
        g.refuse(RenderStatus::rejected,
                 "<?xml-stylesheet?> processing instruction (external stylesheets are not allowed)");
      }
    });
  };
  sax.serror = [](void* self, xmlErrorPtr error) {
    if (error != nullptr) with(self, [&](Guard& g) { g.on_error(*error); });
  };
  return sax;
}

std::optional<RenderResult> Guard::run(std::string_view svg) {
  if (svg.size() > options_.max_bytes || svg.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return make_result(RenderStatus::rejected,
                       fmt::format("document of {} bytes exceeds max_bytes ({})", svg.size(), options_.max_bytes));
  }
  if (svg.find("<svg") == std::string_view::npos) return make_result(RenderStatus::no_code, "no <svg> element");
  if (has_tag_with_too_many_attributes(svg, options_.max_attributes)) {
    return make_result(RenderStatus::rejected, fmt::format("an element with more than {} attributes (max_attributes)",
                                                           options_.max_attributes));
  }

  // Pull parsing from memory, as librsvg parses, so both see the same document and limits
  // (libxml2's own depth limit of 256, for one, applies only in this mode).
  ctxt_ = xmlCreateMemoryParserCtxt(svg.data(), static_cast<int>(svg.size()));
  if (ctxt_ == nullptr) return make_result(RenderStatus::rejected, "libxml2 could not create a parser");
  *ctxt_->sax = handler();
  ctxt_->userData = this;
  // Set explicitly, so that libxml2's process-wide defaults cannot turn on entity substitution
  // or DTD loading: no XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_HUGE (which would lift
  // the depth and size limits).
  xmlCtxtUseOptions(ctxt_, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlParseDocument(ctxt_);
  const bool well_formed = ctxt_->wellFormed != 0;
  // libxml2 may build a document of its own for entity declarations ("SAX compatibility
  // mode"); the context does not own it.
  if (ctxt_->myDoc != nullptr) xmlFreeDoc(ctxt_->myDoc);
  ctxt_->myDoc = nullptr;
  xmlFreeParserCtxt(ctxt_);
  ctxt_ = nullptr;

  if (failed_) return make_result(RenderStatus::rejected, "the SVG guard ran out of memory");
  if (verdict_) return std::move(verdict_);
  if (depth_error_) {
    return make_result(RenderStatus::rejected, fmt::format("elements nested too deep for libxml2 ({})", parse_error_));
  }
  if (!parse_error_.empty() || !well_formed) {
    std::string reason = parse_error_.empty() ? "malformed XML" : parse_error_;
    if (reason.size() > kMaxReasonBytes) reason.resize(kMaxReasonBytes);
    return make_result(RenderStatus::syntax_error, sanitize_utf8(reason));
  }
  if (elements_ == 0) return make_result(RenderStatus::no_code, "no <svg> element");
  return std::nullopt;
}

}  // namespace

std::optional<RenderResult> guard_svg(std::string_view svg, const SvgRenderOptions& options) {
  static const bool initialised = (xmlInitParser(), true);  // once, before any thread parses
  (void)initialised;
  return Guard(options, 0).run(svg);
}

}  // namespace visrl::render
