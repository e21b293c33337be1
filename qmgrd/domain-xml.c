/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "domain-xml.h"

#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <string.h>

#include "gui-proto.h"
#include "xml-util.h"

static xmlNode *child(xmlNode *parent, const char *name, const char *text)
{
	return xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST text);
}

static void attr(xmlNode *n, const char *name, const char *value)
{
	xmlNewProp(n, BAD_CAST name, BAD_CAST value);
}

static void add_disk(xmlNode *devices, const char *file, const char *dev)
{
	xmlNode *disk = child(devices, "disk", NULL);
	attr(disk, "type", "file");
	attr(disk, "device", "disk");
	xmlNode *drv = child(disk, "driver", NULL);
	attr(drv, "name", "qemu");
	attr(drv, "type", "qcow2");
	attr(drv, "discard", "unmap");
	attr(child(disk, "source", NULL), "file", file);
	xmlNode *t = child(disk, "target", NULL);
	attr(t, "dev", dev);
	attr(t, "bus", "virtio");
}

/*
 * <interface type='ethernet'>: a tap of its own, no bridge, so no two
 * qubes share an L2 segment.  libvirt makes the tap and removes it when
 * the domain stops; qmgrd puts the gateway on it (not libvirt's
 * <source><ip>, which 9.0 adds again at every resume, and fails).
 */
static void add_interface(xmlNode *devices, const struct qm_domain_spec *s)
{
	xmlNode *nic = child(devices, "interface", NULL);
	attr(nic, "type", "ethernet");
	attr(child(nic, "mac", NULL), "address", s->net_mac);
	xmlNode *t = child(nic, "target", NULL);
	attr(t, "dev", s->net_tap);
	attr(t, "managed", "yes");
	attr(child(nic, "model", NULL), "type", "virtio");
}

/*
 * The shared GUI region (docs/gui.md): an ivshmem-doorbell PCI device whose
 * BAR2 the guest's qmgr-gui-agent maps.  QEMU gets the region, a memfd,
 * from qmgrd (gui-region.c) as the device's ivshmem server on
 * s->gui_shm_server, so there is no file anyone could open or make first
 * (ivshmem-plain would be backed by /dev/shm/NAME).  libvirt 9.0 turns it
 * into -chardev socket,path=SERVER and -device ivshmem-doorbell with
 * vectors=1: MSI-X needs at least one vector; the server sends no eventfd
 * for it, so the guest can interrupt nobody.  The size is the memfd's.
 */
static void add_gui_shm(xmlNode *devices, const struct qm_domain_spec *s)
{
	xmlNode *shm = child(devices, "shmem", NULL);
	attr(shm, "name", s->gui_shm_name);
	attr(child(shm, "model", NULL), "type", "ivshmem-doorbell");
	attr(child(shm, "server", NULL), "path", s->gui_shm_server);
	xmlNode *msi = child(shm, "msi", NULL);
	attr(msi, "vectors", "1");
	attr(msi, "ioeventfd", "off");
}

char *qm_domain_xml_build(const struct qm_domain_spec *s)
{
	g_autoptr(xmlDoc) doc = xmlNewDoc(BAD_CAST "1.0");
	xmlNode *dom = xmlNewNode(NULL, BAD_CAST "domain");
	xmlDocSetRootElement(doc, dom);
	attr(dom, "type", s->accel == QM_ACCEL_KVM ? "kvm" : "qemu");
	child(dom, "name", s->domain_name);
	child(dom, "uuid", s->uuid);

	/* Ownership: several qmgrd instances may share one libvirtd. */
	xmlNode *meta = child(dom, "metadata", NULL);
	xmlNode *q = child(meta, "vm", NULL);
	xmlNs *ns = xmlNewNs(q, BAD_CAST QM_XMLNS_VM, BAD_CAST "qmgr");
	xmlSetNs(q, ns);
	attr(q, "instance", s->instance);
	attr(q, "name", s->vm_name);

	g_autofree char *mem = g_strdup_printf("%u", s->memory_mib);
	attr(child(dom, "memory", mem), "unit", "MiB");
	g_autofree char *vcpus = g_strdup_printf("%u", s->vcpus);
	child(dom, "vcpu", vcpus);

	xmlNode *os = child(dom, "os", NULL);
	xmlNode *type = child(os, "type", "hvm");
	attr(type, "arch", "x86_64");
	attr(type, "machine", "q35");
	child(os, "kernel", s->kernel);
	child(os, "initrd", s->initrd);
	child(os, "cmdline", s->cmdline);

	/* ACPI lets the guest power itself off. */
	child(child(dom, "features", NULL), "acpi", NULL);
	if (s->accel == QM_ACCEL_KVM)
		attr(child(dom, "cpu", NULL), "mode", "host-passthrough");
	attr(child(dom, "clock", NULL), "offset", "utc");
	/* A qube that stops, for whatever reason, is gone: its state is in
	 * its volumes, and qmgrd notices through libvirt's events. */
	child(dom, "on_poweroff", "destroy");
	child(dom, "on_reboot", "destroy");
	child(dom, "on_crash", "destroy");

	xmlNode *dev = child(dom, "devices", NULL);
	add_disk(dev, s->root_disk, "vda");
	add_disk(dev, s->private_disk, "vdb");
	xmlNode *usb = child(dev, "controller", NULL);
	attr(usb, "type", "usb");
	attr(usb, "model", "none");
	xmlNode *vs = child(dev, "controller", NULL);
	attr(vs, "type", "virtio-serial");
	attr(vs, "index", "0");
	xmlNode *ch = child(dev, "channel", NULL);
	attr(ch, "type", "unix");
	xmlNode *src = child(ch, "source", NULL);
	attr(src, "mode", "bind");
	attr(src, "path", s->agent_socket);
	xmlNode *tgt = child(ch, "target", NULL);
	attr(tgt, "type", "virtio");
	attr(tgt, "name", QM_AGENT_PORT);
	if (s->gui_socket != NULL) {
		ch = child(dev, "channel", NULL);
		attr(ch, "type", "unix");
		src = child(ch, "source", NULL);
		attr(src, "mode", "bind");
		attr(src, "path", s->gui_socket);
		tgt = child(ch, "target", NULL);
		attr(tgt, "type", "virtio");
		attr(tgt, "name", QM_GUI_PORT_NAME);
	}
	if (s->gui_shm_name != NULL && s->gui_shm_server != NULL)
		add_gui_shm(dev, s);
	if (s->net_tap != NULL)
		add_interface(dev, s);
	xmlNode *serial = child(dev, "serial", NULL);
	attr(serial, "type", "file");
	attr(child(serial, "source", NULL), "path", s->console_log);
	attr(child(serial, "target", NULL), "port", "0");
	attr(child(dev, "memballoon", NULL), "model", "none");

	xmlChar *buf = NULL;
	int size = 0;
	xmlDocDumpFormatMemoryEnc(doc, &buf, &size, "UTF-8", 1);
	char *out = g_strndup((const char *)buf, (gsize)size);
	xmlFree(buf);
	return out;
}

gboolean qm_domain_xml_owner(const char *xml, char **instance, char **vm)
{
	g_autoptr(xmlDoc) doc = qm_xml_parse(xml, strlen(xml), "domain",
					     NULL);
	if (doc == NULL)
		return FALSE;
	g_autoptr(xmlXPathContext) ctx = xmlXPathNewContext(doc);
	xmlXPathRegisterNs(ctx, BAD_CAST "qmgr", BAD_CAST QM_XMLNS_VM);
	g_autoptr(xmlXPathObject) r = xmlXPathEvalExpression(
		BAD_CAST "/domain/metadata/qmgr:vm", ctx);
	if (r == NULL || r->nodesetval == NULL ||
	    r->nodesetval->nodeNr != 1)
		return FALSE;
	xmlNode *n = r->nodesetval->nodeTab[0];
	*instance = qm_xml_attr(n, "instance");
	*vm = qm_xml_attr(n, "name");
	if (*instance == NULL || *vm == NULL) {
		g_clear_pointer(instance, g_free);
		g_clear_pointer(vm, g_free);
		return FALSE;
	}
	return TRUE;
}
