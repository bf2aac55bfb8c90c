// The drawing page served at `/`: web/index.html (HTML with its CSS and JavaScript inline, no
// external resources), compiled into the library by CMake so that `hcmsn serve` is one file.
#pragma once

#include <string_view>

namespace hcmsn::serve {

std::string_view web_index_html();

}  // namespace hcmsn::serve
