#include "proxy/core/systemd_notify.h"

#include <systemd/sd-daemon.h>

namespace rtmpgate::proxy {

void notifyReady() { sd_notify(0, "READY=1\nSTATUS=accepting connections"); }
void notifyReloading() { sd_notify(0, "RELOADING=1"); }
void notifyStopping() { sd_notify(0, "STOPPING=1\nSTATUS=draining sessions"); }

}  // namespace rtmpgate::proxy
