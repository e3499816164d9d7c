// The demo zone `kiln.test.` in master-file form (served when no zone file is given).
#pragma once

namespace dns {

extern const char* const kDemoZone;

} // namespace dns
